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
import type { StreamSession } from "../stream/stream_session.ts";
import { DRAINED, DrainWatch } from "./drain_watch.ts";
import type { ServerMessage } from "./protocol.ts";

export interface TranscriptionDeps {
  maxUploadBytes: number;
  /** A background session over the upload geometry; `send` receives its messages. */
  openSession(send: (m: ServerMessage) => void): StreamSession;
  closeSession(session: StreamSession): void;
  wake(): void;
  /**
   * Aborted when the server starts draining: a request still reading its body, decoding its
   * file or waiting for its transcript stops there and is answered 503 `shutting_down`.
   */
  shutdown?: AbortSignal;
}

/** An error in OpenAI's shape: `{"error": {"message", "type", "code"}}`. */
function apiError(
  status: number,
  code: string,
  message: string,
  type = "invalid_request_error",
): Response {
  return Response.json({ error: { message, type, code, param: null } }, { status });
}

function shuttingDown(): Response {
  const res = apiError(
    503,
    "shutting_down",
    "The server is shutting down and stopped this transcription; send the file again",
    "server_error",
  );
  res.headers.set("connection", "close");
  return res;
}

/**
 * Reads the body, refusing it as soon as it passes `limit` bytes (null); DRAINED as soon as the
 * drain starts, whether or not the client is still sending.
 */
async function readLimited(
  req: Request,
  limit: number,
  drain: DrainWatch,
): Promise<Uint8Array<ArrayBuffer> | null | typeof DRAINED> {
  if (!req.body) return new Uint8Array(0);
  const reader = req.body.getReader();
  const chunks: Uint8Array[] = [];
  let total = 0;
  for (;;) {
    const next = await Promise.race([reader.read(), drain.drained]);
    if (next === DRAINED || (!next.done && total + next.value.length > limit)) {
      reader.cancel().catch(() => {});
      return next === DRAINED ? DRAINED : null;
    }
    if (next.done) break;
    total += next.value.length;
    chunks.push(next.value);
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
  using drain = new DrainWatch(deps.shutdown);
  const body = await readLimited(req, deps.maxUploadBytes, drain);
  if (body === DRAINED) return shuttingDown();
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
    // The drain kills ffmpeg if it is decoding this file, and the request is answered at once.
    const read = await Promise.race([
      readAudioFile(path, { signal: drain.signal }).catch((err): typeof DRAINED => {
        if (drain.signal.aborted) return DRAINED;
        throw err;
      }),
      drain.drained,
    ]);
    if (read === DRAINED) return shuttingDown();
    samples = read.samples;
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

  const result = await decodeUpload(samples, deps, req.signal, drain);
  if (result === DRAINED) return shuttingDown();
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

function decodeUpload(
  samples: Float32Array,
  deps: TranscriptionDeps,
  signal: AbortSignal,
  drain: DrainWatch,
): Promise<{ text: string; words: WordTiming[] } | { error: string } | typeof DRAINED> {
  return new Promise((resolve) => {
    const session = deps.openSession((m) => {
      if (m.type === "final") {
        deps.closeSession(session);
        resolve({ text: m.text, words: m.words ?? [] });
      } else if (m.type === "error") {
        deps.closeSession(session);
        resolve({ error: m.message });
      }
    });
    // A client that goes away stops the work it asked for; so does the drain.
    signal.addEventListener("abort", () => deps.closeSession(session), { once: true });
    drain.drained.then(() => {
      deps.closeSession(session);
      resolve(DRAINED);
    });
    session.pushSamples(samples, true);
    deps.wake();
  });
}
