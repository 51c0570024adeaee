/**
 * `POST /v1/audio/transcriptions` in the shape of OpenAI's API (multipart `file`, `model`,
 * `response_format`, `timestamp_granularities[]`), so existing OpenAI clients work unchanged.
 * The file is decoded by the same reader as `transcribe` and decoded through the same batched
 * engine as the live streams, as a background stream: it only takes batches no live stream
 * needs.
 */
import { AudioFileError } from "../audio/audio_error.ts";
import { readAudioFile } from "../audio/read_audio.ts";
import type { WordTiming } from "../decode/words.ts";
import {
  renderTranscript,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
} from "../format/transcript_formats.ts";
import { SampleFeed } from "../stream/sample_feed.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import type { ServerMessage } from "./protocol.ts";

export interface TranscriptionDeps {
  maxUploadBytes: number;
  /** A background session over the upload geometry; `send` receives its messages. */
  openSession(send: (m: ServerMessage) => void): StreamSession;
  closeSession(session: StreamSession): void;
  wake(): void;
}

/** An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`. */
function apiError(status: number, code: string, message: string): Response {
  return Response.json(
    { error: { message, type: "invalid_request_error", code, param: null } },
    { status },
  );
}

/** Reads the body, refusing it as soon as it passes `limit` bytes. */
async function readLimited(req: Request, limit: number): Promise<Uint8Array<ArrayBuffer> | null> {
  if (!req.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of req.body) {
    total += chunk.length;
    if (total > limit) return null;
    chunks.push(chunk);
  }
  const out = new Uint8Array(total);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

export async function handleTranscription(
  req: Request,
  deps: TranscriptionDeps,
): Promise<Response> {
  if (req.method !== "POST") {
    return apiError(405, "method_not_allowed", "Use POST with a multipart/form-data body");
  }
  const tooLarge = () =>
    apiError(
      413,
      "file_too_large",
      `Cannot accept the upload: it exceeds the limit of ${deps.maxUploadBytes} bytes (MAX_UPLOAD_BYTES)`,
    );
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > deps.maxUploadBytes) return tooLarge();
  const body = await readLimited(req, deps.maxUploadBytes);
  if (body === null) return tooLarge();

  let form: FormData;
  try {
    form = await new Request("http://local/", { method: "POST", headers: req.headers, body })
      .formData();
  } catch (err) {
    return apiError(
      400,
      "invalid_body",
      `Cannot read the request as multipart/form-data: ${(err as Error).message}`,
    );
  }
  const file = form.get("file");
  if (!(file instanceof File)) {
    return apiError(400, "missing_file", 'The form needs a "file" field holding the audio');
  }
  const format = String(form.get("response_format") ?? "json");
  if (!TRANSCRIPT_FORMATS.includes(format as TranscriptFormat)) {
    return apiError(
      400,
      "invalid_response_format",
      `response_format must be one of ${TRANSCRIPT_FORMATS.join(", ")}, got "${format}"`,
    );
  }
  const granularities = form.getAll("timestamp_granularities[]").map(String);
  const model = String(form.get("model") ?? "parakeet-tdt-0.6b-v3");

  const dir = await Deno.makeTempDir({ prefix: "upload-" });
  let samples: Float32Array;
  try {
    const path = `${dir}/${file.name.replace(/[^\w.-]/g, "_") || "audio"}`;
    await Deno.writeFile(path, new Uint8Array(await file.arrayBuffer()));
    samples = (await readAudioFile(path)).samples;
  } catch (err) {
    if (err instanceof AudioFileError) {
      // Content no decoder here can read is an unsupported media type; a broken file of a
      // known type (truncated, empty…) is a bad request.
      const unsupported = err.code === "unsupported-format" || err.code === "unsupported-codec" ||
        err.code === "decoder-failed";
      const message = err.message.replaceAll(`${dir}/`, "");
      return apiError(
        unsupported ? 415 : 400,
        unsupported ? "unsupported_format" : "bad_audio",
        message,
      );
    }
    throw err;
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }

  const result = await decodeUpload(samples, deps, req.signal);
  // Nobody reads this answer; 499 (nginx's "client closed request") tells the logs why.
  if (req.signal.aborted) return apiError(499, "client_closed_request", CLIENT_LEFT);
  if ("error" in result) return apiError(500, "internal_error", result.error);
  const out = renderTranscript(
    { text: result.text, words: result.words, duration: samples.length / 16000 },
    format as TranscriptFormat,
    {
      words: format !== "verbose_json" || granularities.length === 0 ||
        granularities.includes("word"),
      model,
    },
  );
  return new Response(out.body, { headers: { "content-type": out.contentType } });
}

const CLIENT_LEFT = "The client left before the transcript was ready";

/** Audio handed to an upload's session at a time: about 1 ms of log-mel work per slice. */
const FEED_SLICE_SAMPLES = 16000;

/** Feeding yields to the event loop after this much work in one turn (a timer costs ~2 ms). */
const FEED_TURN_MS = 5;

/**
 * Decodes an upload's samples as a background session. The samples are fed a slice at a time,
 * only as far ahead of the decoder as its next chunk needs, yielding to the event loop between
 * slices: an hour-long file never holds up a live stream's step behind its whole log-mel. A
 * client that leaves (the request's signal) takes its session out of the scheduler at once: at
 * most the batch already running decodes anything more of it.
 */
async function decodeUpload(
  samples: Float32Array,
  deps: TranscriptionDeps,
  signal: AbortSignal,
): Promise<{ text: string; words: WordTiming[] } | { error: string }> {
  const left = { error: CLIENT_LEFT };
  if (signal.aborted) return left;
  const outcome = Promise.withResolvers<
    { text: string; words: WordTiming[] } | { error: string }
  >();
  const session = deps.openSession((m) => {
    if (m.type === "final") {
      deps.closeSession(session);
      outcome.resolve({ text: m.text, words: m.words ?? [] });
    } else if (m.type === "error") {
      deps.closeSession(session);
      outcome.resolve({ error: m.message });
    }
  });
  const leave = () => {
    deps.closeSession(session);
    outcome.resolve(left);
  };
  signal.addEventListener("abort", leave, { once: true });
  let stepped = Promise.withResolvers<void>();
  session.onStep = () => stepped.resolve();
  const feed = new SampleFeed(samples, FEED_SLICE_SAMPLES);
  let turnStart = performance.now();
  while (!session.closed && !feed.done) {
    if (!session.wantsAudio) {
      await Promise.race([stepped.promise, outcome.promise]);
      stepped = Promise.withResolvers<void>();
      turnStart = performance.now();
      continue;
    }
    const slice = feed.next()!;
    session.pushSamples(slice.samples, slice.last);
    deps.wake();
    if (!slice.last && performance.now() - turnStart >= FEED_TURN_MS) {
      await new Promise((r) => setTimeout(r, 0));
      turnStart = performance.now();
    }
  }
  const result = await outcome.promise;
  signal.removeEventListener("abort", leave);
  return result;
}
