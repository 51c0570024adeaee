/**
 * `POST /v1/audio/transcriptions` in the shape of OpenAI's API (multipart `file`, `model`,
 * `response_format`, `timestamp_granularities[]`), so existing OpenAI clients work unchanged.
 * The file is decoded by the same reader as `transcribe` and decoded through the same batched
 * engine as the live streams, as a background stream: it only takes batches no live stream
 * needs.
 */
import { type AudioErrorCode, AudioFileError } from "../audio/audio_error.ts";
import type { DecodeLimits } from "../audio/decode_limits.ts";
import { decodeAudio } from "../audio/read_audio.ts";
import type { WordTiming } from "../decode/words.ts";
import {
  renderTranscript,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
} from "../format/transcript_formats.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import {
  BadMultipart,
  BodyTooLarge,
  multipartBoundary,
  parseMultipart,
  readBody,
  type UploadedForm,
} from "./multipart_upload.ts";
import type { ServerMessage } from "./protocol.ts";

export interface TranscriptionDeps {
  maxUploadBytes: number;
  /** MAX_UPLOAD_S and UPLOAD_DECODE_TIMEOUT_S. */
  limits: DecodeLimits;
  /** Aborted when the server drains: decoding stops (ffmpeg killed, worker ended). */
  signal?: AbortSignal;
  /** A background session over the upload geometry; `send` receives its messages. */
  openSession(send: (m: ServerMessage) => void): StreamSession;
  closeSession(session: StreamSession): void;
  wake(): void;
}

/** An error in OpenAI's shape: `{"error": {"message", "type", "code", "param"}}`. */
export function apiError(
  status: number,
  code: string,
  message: string,
  headers: Record<string, string> = {},
): Response {
  const type = status >= 500 ? "server_error" : "invalid_request_error";
  return Response.json({ error: { message, type, code, param: null } }, { status, headers });
}

/**
 * The status and code of each reader error. Content no decoder here reads, or reads at that
 * rate, is an unsupported media type; audio longer than the limit is too large; a file ffmpeg
 * cannot finish in time is unprocessable; a broken file of a known type is a bad request.
 */
const AUDIO_ERRORS: Partial<Record<AudioErrorCode, [number, string]>> = {
  "unsupported-format": [415, "unsupported_format"],
  "unsupported-codec": [415, "unsupported_format"],
  "decoder-failed": [415, "unsupported_format"],
  "unsupported-sample-rate": [415, "unsupported_sample_rate"],
  "too-long": [413, "audio_too_long"],
  "decode-timeout": [422, "decode_timeout"],
};

export function audioErrorResponse(err: AudioFileError): Response {
  const [status, code] = AUDIO_ERRORS[err.code] ?? [400, "bad_audio"];
  return apiError(status, code, err.message);
}

/** The fields of the form; `bytes` is a view of the body, handed to the decoder. */
interface UploadForm {
  bytes: Uint8Array<ArrayBuffer>;
  format: string;
  granularities: string[];
  model: string;
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
    model: field("model") ?? "parakeet-tdt-0.6b-v3",
  };
}

export async function handleTranscription(
  req: Request,
  deps: TranscriptionDeps,
): Promise<Response> {
  if (req.method !== "POST") {
    return apiError(405, "method_not_allowed", "Use POST with a multipart/form-data body");
  }
  const form = await readForm(req, deps.maxUploadBytes);
  if (form instanceof Response) return form;
  const { format, granularities, model } = form;
  if (!TRANSCRIPT_FORMATS.includes(format as TranscriptFormat)) {
    return apiError(
      400,
      "invalid_response_format",
      `response_format must be one of ${TRANSCRIPT_FORMATS.join(", ")}, got "${format}"`,
    );
  }
  const signal = deps.signal ? AbortSignal.any([req.signal, deps.signal]) : req.signal;
  let samples: Float32Array;
  try {
    // The bytes go to the decoder (a worker or ffmpeg's stdin); nothing here holds them after.
    samples = (await decodeAudio(form.bytes, "upload", { limits: deps.limits, signal })).samples;
  } catch (err) {
    if (deps.signal?.aborted) {
      return apiError(503, "shutting_down", "The server is shutting down; retry elsewhere");
    }
    if (req.signal.aborted) {
      return apiError(499, "client_closed_request", "The client went away");
    }
    if (err instanceof AudioFileError) return audioErrorResponse(err);
    return apiError(500, "internal_error", `Decoding the upload failed: ${(err as Error).message}`);
  }

  const result = await decodeUpload(samples, deps, signal);
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
): Promise<{ text: string; words: WordTiming[] } | { error: string }> {
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
    // A client that goes away stops the work it asked for, and its request ends (which
    // releases its upload slot).
    const onAbort = () => {
      deps.closeSession(session);
      resolve({ error: "aborted: the client went away or the server is draining" });
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    session.pushSamples(samples, true);
    deps.wake();
  });
}
