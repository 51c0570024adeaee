/**
 * `POST /v1/audio/transcriptions` in the shape of OpenAI's API (multipart `file`, `model`,
 * `language`, `prompt`, `response_format`, `timestamp_granularities[]`), so existing OpenAI
 * clients work unchanged.
 * The file is decoded by the same reader as `transcribe` and decoded through the same batched
 * engine as the live streams, as a background stream: it only takes batches no live stream
 * needs.
 */
import { type AudioErrorCode, AudioFileError } from "../audio/audio_error.ts";
import { type DecodeLimits, uploadDecodeLimits } from "../audio/decode_limits.ts";
import { decodeAudio } from "../audio/read_audio.ts";
import {
  renderTranscript,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
} from "../format/transcript_formats.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import { DRAINED, DrainWatch } from "./drain_watch.ts";
import {
  BadMultipart,
  BodyTooLarge,
  multipartBoundary,
  parseMultipart,
  readBody,
  type UploadedForm,
} from "./multipart_upload.ts";
import type { RefusalReason } from "./refusals.ts";
import type { Route } from "./routes.ts";
import type { ServerCore } from "./server_core.ts";
import { inferenceFailedMessage } from "./ws_connection.ts";
import { transcriptEventStream } from "./transcript_sse.ts";
import { CLIENT_LEFT, decodeUpload, streamUpload, type UploadSessions } from "./upload_decode.ts";

export interface TranscriptionDeps extends UploadSessions {
  /** The served model's name, reported as every transcript's `model`. */
  servedModel: string;
  maxUploadBytes: number;
  /** MAX_UPLOAD_S and UPLOAD_DECODE_TIMEOUT_S, and ffmpeg's kernel limits. */
  limits: DecodeLimits;
}

/** An error in OpenAI's shape: `{"error": {"message", "type", "code", "param"}}`. */
export function apiError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
  param: string | null = null,
): Response {
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  return Response.json({ error: { message, type, code, param } }, { status, headers });
}

/**
 * The status and code of each reader error. Content no decoder here reads, or reads at that
 * rate, is an unsupported media type; audio longer than the limit is too large; a file ffmpeg
 * cannot finish in time, or within its memory, is unprocessable; a broken file of a known type is
 * a bad request.
 */
const AUDIO_ERRORS: Partial<Record<AudioErrorCode, [number, string]>> = {
  "unsupported-format": [415, "unsupported_format"],
  "unsupported-codec": [415, "unsupported_format"],
  "decoder-failed": [415, "unsupported_format"],
  "unsupported-sample-rate": [415, "unsupported_sample_rate"],
  "too-long": [413, "audio_too_long"],
  "decode-timeout": [422, "decode_timeout"],
  "decode-out-of-memory": [422, "decode_out_of_memory"],
};

function shuttingDown(): Response {
  return apiError(
    503,
    "shutting_down",
    "The server is shutting down and stopped this transcription; send the file again",
    { connection: "close" },
  );
}

export function audioErrorResponse(err: AudioFileError): Response {
  const [status, code] = AUDIO_ERRORS[err.code] ?? [400, "bad_audio"];
  return apiError(status, code, err.message);
}

/** The fields of the form; `bytes` is a view of the body, handed to the decoder. */
interface UploadForm {
  bytes: Uint8Array<ArrayBuffer>;
  format: string;
  granularities: string[];
  /** As sent; reported back, never acted on (the model picks the language itself). */
  language: string | undefined;
  /** `stream=true`: the transcript as server-sent events (transcript_sse.ts). */
  stream: boolean;
}

async function readForm(
  req: Request,
  limit: number,
): Promise<UploadForm | Response> {
  const tooLarge = () =>
    apiError(
      413,
      "file_too_large",
      `Cannot accept the upload: it exceeds the limit of ${limit} bytes (MAX_UPLOAD_BYTES)`,
    );
  const declared = Number(req.headers.get("content-length") ?? "0");
  if (declared > limit) return tooLarge();
  const boundary = multipartBoundary(req.headers.get("content-type"));
  if (boundary === null) {
    return apiError(
      400,
      "invalid_body",
      "Cannot read the request as multipart/form-data: no multipart/form-data content type with a boundary",
    );
  }
  let form: UploadedForm;
  try {
    const body = await readBody(req.body, limit, boundary);
    form = parseMultipart(body.bytes, boundary, body.delimiters);
  } catch (err) {
    if (err instanceof BodyTooLarge) return tooLarge();
    if (!(err instanceof BadMultipart)) {
      // The connection broke mid-body (the client left): nobody reads this answer.
      return apiError(
        400,
        "body_unreadable",
        `Cannot read the request body: ${(err as Error).message}`,
      );
    }
    return apiError(
      400,
      "invalid_body",
      `Cannot read the request as multipart/form-data: ${err.message}`,
    );
  }
  if (form.file === null) {
    return apiError(400, "missing_file", 'The form needs a "file" field holding the audio');
  }
  // The file's name is never used: not as a path, not in a message.
  const field = (name: string) => form.fields.get(name)?.[0];
  return {
    bytes: form.file,
    format: field("response_format") ?? "json",
    granularities: form.fields.get("timestamp_granularities[]") ?? [],
    language: field("language"),
    stream: field("stream") === "true",
  };
}

/**
 * Answers one transcription request. `release` is called once when its work is over: when the
 * answer is ready, or for `stream=true` when the event stream has ended.
 */
export async function handleTranscription(
  req: Request,
  deps: TranscriptionDeps,
  release: () => void = () => {},
): Promise<Response> {
  const handOff = { streaming: false, release };
  try {
    return await answerTranscription(req, deps, handOff);
  } finally {
    if (!handOff.streaming) release();
  }
}

async function answerTranscription(
  req: Request,
  deps: TranscriptionDeps,
  handOff: { streaming: boolean; release: () => void },
): Promise<Response> {
  if (req.method !== "POST") {
    return apiError(405, "method_not_allowed", "Use POST with a multipart/form-data body");
  }
  using drain = new DrainWatch(deps.shutdown);
  // The drain answers a request still receiving its body at once, whether or not the client
  // goes on sending.
  const form = await Promise.race([readForm(req, deps.maxUploadBytes), drain.drained]);
  if (form === DRAINED) {
    req.body?.cancel().catch(() => {});
    return shuttingDown();
  }
  if (form instanceof Response) return form;
  // `model` is not read: OpenAI clients always send one (often whisper-1, or a name copied from
  // an example), and one model serves every request; the answer names that one.
  const { format, granularities, language } = form;
  // ISO-639-1 (two letters), or a three-letter ISO-639 code: malformed values are refused
  // rather than reported back in verbose_json as if they meant something.
  if (language !== undefined && language !== "" && !/^[a-z]{2,3}$/.test(language)) {
    return apiError(
      400,
      "invalid_value",
      `language must be an ISO-639-1 code of 2 or 3 lowercase letters such as "en", got "${
        language.slice(0, 50)
      }"`,
      {},
      "language",
    );
  }
  if (!TRANSCRIPT_FORMATS.includes(format as TranscriptFormat)) {
    // A form field may be as large as the upload limit: only its start goes back.
    return apiError(
      400,
      "invalid_response_format",
      `response_format must be one of ${TRANSCRIPT_FORMATS.join(", ")}, got "${
        format.slice(0, 50)
      }"`,
    );
  }
  if (form.stream && format !== "json" && format !== "text") {
    return apiError(
      400,
      "unsupported_value",
      `stream=true sends text events: response_format must be json or text, got "${format}"`,
    );
  }
  // The client leaving or the drain kills ffmpeg or ends the decoding worker.
  const signal = AbortSignal.any([req.signal, drain.signal]);
  let samples: Float32Array;
  try {
    // The bytes go to the decoder (a worker or ffmpeg's stdin); nothing here holds them after.
    const decoded = await Promise.race([
      decodeAudio(form.bytes, "upload", { limits: deps.limits, signal }),
      drain.drained,
    ]);
    if (decoded === DRAINED) return shuttingDown();
    samples = decoded.samples;
  } catch (err) {
    if (drain.signal.aborted) return shuttingDown();
    if (req.signal.aborted) {
      return apiError(499, "client_closed_request", "The client went away");
    }
    if (err instanceof AudioFileError) return audioErrorResponse(err);
    return apiError(500, "internal_error", `Decoding the upload failed: ${(err as Error).message}`);
  }
  if (form.stream) {
    handOff.streaming = true;
    const body = transcriptEventStream(
      (onPartial, cancelled) => streamUpload(samples, deps, req.signal, cancelled, onPartial),
      handOff.release,
    );
    return new Response(body, {
      headers: { "content-type": "text/event-stream", "cache-control": "no-cache" },
    });
  }

  const result = await decodeUpload(samples, deps, req.signal, drain);
  if (result === DRAINED) return shuttingDown();
  // Nobody reads this answer; 499 (nginx's "client closed request") tells the logs why.
  if (req.signal.aborted) return apiError(499, "client_closed_request", CLIENT_LEFT);
  if ("error" in result) return apiError(500, "internal_error", result.error);
  const out = renderTranscript(
    { text: result.text, words: result.words, duration: samples.length / 16000 },
    format as TranscriptFormat,
    {
      words: format !== "verbose_json" || granularities.length === 0 ||
        granularities.includes("word"),
      model: deps.servedModel,
      language: language || null,
    },
  );
  return new Response(out.body, { headers: { "content-type": out.contentType } });
}

/**
 * The route: admission first (refused while draining or when MAX_UPLOADS files are in
 * progress), then the handler over background sessions of the scheduler, each with
 * `uploadContext` (the upload geometry); transcripts name `servedModel`.
 */
export function transcriptionRoute(
  core: ServerCore,
  uploadContext: StreamContext,
  servedModel: string,
): Route {
  const { config, scheduler, uploads } = core;
  const deps: TranscriptionDeps = {
    servedModel,
    maxUploadBytes: config.maxUploadBytes,
    limits: uploadDecodeLimits(config.maxUploadS, config.uploadDecodeTimeoutS),
    openSession: (send) => {
      const s = new StreamSession(core.nextId(), uploadContext, send);
      s.background = true;
      s.onBatchFailed = (error) =>
        send({ type: "error", code: "internal_error", message: inferenceFailedMessage(error) });
      uploads.add(s);
      scheduler.add(s);
      return s;
    },
    closeSession: (s) => {
      s.close();
      uploads.delete(s);
      scheduler.remove(s);
    },
    wake: () => scheduler.wake(),
    shutdown: core.drain.signal,
  };
  // Refusals here speak OpenAI's error JSON, like the rest of the route.
  const refuseUpload = (reason: RefusalReason, code: string, message: string) => {
    core.metrics.refused.inc(1, { reason });
    return apiError(503, code, message, { "retry-after": "5" });
  };
  return {
    path: "/v1/audio/transcriptions",
    handle: ({ req }) => {
      if (core.draining) {
        return refuseUpload("shutting_down", "shutting_down", "The server is shutting down");
      }
      const release = core.uploadSlots.tryAcquire();
      if (!release) {
        return refuseUpload(
          "uploads",
          "too_many_uploads",
          `The server is transcribing ${config.maxUploads} files already (MAX_UPLOADS); retry later`,
        );
      }
      return handleTranscription(req, deps, release);
    },
  };
}
