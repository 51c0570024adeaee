/**
 * OpenAI's Realtime API, transcription sessions: the client events this server accepts and the
 * server events it sends, as the official `openai` Python SDK 3.57.0 defines them
 * (openai/types/realtime/, the GA protocol: `session.update` with `session.type:
 * "transcription"`, `audio.input.format`, `audio.input.turn_detection`; not the beta
 * `transcription_session.update`).
 *
 * Client events are JSON text frames; every one that cannot be applied is answered with an
 * `error` event in OpenAI's shape and the session goes on.
 */
import { quotedValue } from "../protocol/quoted_value.ts";

/** `audio.input.format`: PCM16 LE mono at 24 kHz, or G.711 μ-law / A-law at 8 kHz. */
export type AudioFormat =
  | { type: "audio/pcm"; rate: 24000 }
  | { type: "audio/pcmu" }
  | { type: "audio/pcma" };

/** `audio.input.turn_detection` when on: segments are closed by the server's endpointing. */
export interface ServerVad {
  type: "server_vad";
  /** Trailing non-speech that ends a turn (the endpointing's pause). */
  silence_duration_ms: number;
  threshold: number;
  prefix_padding_ms: number;
}

/** The fields of a `session.update` that were present (undefined: leave as it is). */
export interface SessionUpdate {
  format?: AudioFormat;
  /** null: turn detection off, the client commits. */
  turnDetection?: ServerVad | null;
  /** `audio.input.transcription`: reported back; one model serves every session. */
  transcription?: { model?: string; language?: string | null; prompt?: string };
}

export type ClientEvent =
  | { type: "session.update"; event_id?: string; session: SessionUpdate }
  | { type: "input_audio_buffer.append"; event_id?: string; audio: Uint8Array }
  | { type: "input_audio_buffer.commit"; event_id?: string }
  | { type: "input_audio_buffer.clear"; event_id?: string };

export const CLIENT_EVENT_TYPES = [
  "session.update",
  "input_audio_buffer.append",
  "input_audio_buffer.commit",
  "input_audio_buffer.clear",
] as const;

/** `error.error` of an `error` event. */
export interface RealtimeError {
  type: "invalid_request_error" | "server_error";
  code: string;
  message: string;
  param: string | null;
  event_id: string | null;
}

export interface EventLimits {
  /** Largest text frame, in bytes (checked before parsing). */
  maxEventBytes: number;
  /** Most audio bytes one append may carry (checked on the base64 length, before decoding). */
  maxAppendBytes: number;
}

export type ParsedEvent = { ok: true; event: ClientEvent } | { ok: false; error: RealtimeError };

const encoder = new TextEncoder();

/** Text frame → client event, or the error to answer it with. Never throws. */
export function parseClientEvent(text: string, limits: EventLimits): ParsedEvent {
  // A UTF-16 length bound first, so a huge string is never encoded just to be measured.
  if (text.length > limits.maxEventBytes || encoder.encode(text).length > limits.maxEventBytes) {
    return fail(
      "message_too_large",
      `Cannot accept an event larger than ${limits.maxEventBytes} bytes`,
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return fail("invalid_json", "The event is not valid JSON");
  }
  if (!isObject(json)) return fail("invalid_json", "The event must be a JSON object");
  const eventId = typeof json.event_id === "string" ? json.event_id : undefined;
  const bad = (code: string, message: string, param: string | null) =>
    fail(code, message, param, eventId ?? null);
  if (json.event_id !== undefined && typeof json.event_id !== "string") {
    return bad("invalid_type", "event_id must be a string", "event_id");
  }
  const base = eventId === undefined ? {} : { event_id: eventId };
  switch (json.type) {
    case "input_audio_buffer.append": {
      const audio = json.audio;
      if (typeof audio !== "string") {
        return bad("missing_required_parameter", "Missing required parameter: 'audio'.", "audio");
      }
      // The decoded length to the byte (4 characters carry 3 bytes, padding none): a bound on
      // the characters alone let through 2 bytes more than a cap that is not a multiple of 3.
      const padding = audio.endsWith("==") ? 2 : audio.endsWith("=") ? 1 : 0;
      if (Math.floor(((audio.length - padding) * 3) / 4) > limits.maxAppendBytes) {
        return bad(
          "audio_too_large",
          `Cannot append more than ${limits.maxAppendBytes} bytes of audio in one event`,
          "audio",
        );
      }
      const bytes = decodeBase64(audio);
      if (bytes === null) return bad("invalid_value", "audio must be base64-encoded", "audio");
      return { ok: true, event: { type: "input_audio_buffer.append", ...base, audio: bytes } };
    }
    case "input_audio_buffer.commit":
    case "input_audio_buffer.clear":
      return { ok: true, event: { type: json.type, ...base } };
    case "session.update": {
      const session = parseSession(json.session);
      if ("error" in session) return bad("invalid_value", session.error, session.param);
      return { ok: true, event: { type: "session.update", ...base, session } };
    }
    case undefined:
      return bad("missing_required_parameter", "Missing required parameter: 'type'.", "type");
    default:
      return bad(
        "invalid_value",
        `Invalid value: ${
          JSON.stringify(
            (typeof json.type === "object" ? quotedValue(json.type) : String(json.type)).slice(
              0,
              60,
            ),
          )
        }. Supported values are: ${CLIENT_EVENT_TYPES.map((t) => `'${t}'`).join(", ")}.`,
        "type",
      );
  }
}

type Parsed<T> = T | { error: string; param: string };

function parseSession(value: unknown): Parsed<SessionUpdate> {
  if (!isObject(value)) return { error: "session must be an object", param: "session" };
  if (value.type !== "transcription") {
    return {
      error: `This server runs transcription sessions only: session.type must be 'transcription'`,
      param: "session.type",
    };
  }
  const update: SessionUpdate = {};
  if (value.audio === undefined || value.audio === null) return update;
  if (!isObject(value.audio)) return { error: "audio must be an object", param: "session.audio" };
  const input = value.audio.input;
  if (input === undefined || input === null) return update;
  if (!isObject(input)) {
    return { error: "audio.input must be an object", param: "session.audio.input" };
  }
  if (input.format !== undefined && input.format !== null) {
    const format = parseFormat(input.format);
    if ("error" in format) return format;
    update.format = format;
  }
  if (input.turn_detection !== undefined) {
    const turn = parseTurnDetection(input.turn_detection);
    if (turn !== null && "error" in turn) return turn;
    update.turnDetection = turn;
  }
  if (isObject(input.transcription)) {
    const t = input.transcription;
    update.transcription = {
      ...(typeof t.model === "string" ? { model: t.model } : {}),
      ...(typeof t.language === "string" || t.language === null ? { language: t.language } : {}),
      ...(typeof t.prompt === "string" ? { prompt: t.prompt } : {}),
    };
  }
  return update;
}

const FORMAT_PARAM = "session.audio.input.format";

function parseFormat(value: unknown): Parsed<AudioFormat> {
  if (!isObject(value)) return { error: "format must be an object", param: FORMAT_PARAM };
  switch (value.type) {
    case "audio/pcm":
      if (value.rate !== undefined && value.rate !== 24000) {
        return {
          error: `audio/pcm is read at 24000 Hz only, got rate ${quotedValue(value.rate)}`,
          param: `${FORMAT_PARAM}.rate`,
        };
      }
      return { type: "audio/pcm", rate: 24000 };
    case "audio/pcmu":
    case "audio/pcma":
      return { type: value.type };
    default:
      return {
        error: `Invalid value: ${
          quotedValue(value.type)
        }. Supported values are: 'audio/pcm', 'audio/pcmu', 'audio/pcma'.`,
        param: `${FORMAT_PARAM}.type`,
      };
  }
}

const TURN_PARAM = "session.audio.input.turn_detection";
export const DEFAULT_SILENCE_MS = 500;

function parseTurnDetection(value: unknown): Parsed<ServerVad> | null {
  if (value === null) return null;
  if (!isObject(value)) {
    return { error: "turn_detection must be an object or null", param: TURN_PARAM };
  }
  if (value.type !== "server_vad") {
    return {
      error: `Invalid value: ${
        quotedValue(value.type)
      }. Supported values are: 'server_vad' (or turn_detection null).`,
      param: `${TURN_PARAM}.type`,
    };
  }
  const silence = value.silence_duration_ms ?? DEFAULT_SILENCE_MS;
  if (!Number.isInteger(silence) || (silence as number) < 1 || (silence as number) > 60_000) {
    return {
      error: "silence_duration_ms must be a whole number of milliseconds from 1 to 60000",
      param: `${TURN_PARAM}.silence_duration_ms`,
    };
  }
  return {
    type: "server_vad",
    silence_duration_ms: silence as number,
    threshold: typeof value.threshold === "number" ? value.threshold : 0.5,
    prefix_padding_ms: typeof value.prefix_padding_ms === "number" ? value.prefix_padding_ms : 300,
  };
}

/** Standard base64 (padding optional) to bytes; null when it is not base64. */
export function decodeBase64(text: string): Uint8Array | null {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 === 1) return null;
  let binary: string;
  try {
    binary = atob(text);
  } catch {
    return null;
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

function fail(
  code: string,
  message: string,
  param: string | null = null,
  eventId: string | null = null,
): ParsedEvent {
  return {
    ok: false,
    error: { type: "invalid_request_error", code, message, param, event_id: eventId },
  };
}

/** A server event: its type, fields, and the `event_id` every server event carries. */
export type ServerEvent = { type: string; event_id: string } & Record<string, unknown>;

/** Ids for one session's events and items: a random session part and a counter. */
export class EventIds {
  readonly #prefix: string;
  #n = 0;

  constructor(prefix = crypto.randomUUID().replaceAll("-", "").slice(0, 12)) {
    this.#prefix = prefix;
  }

  next(kind: "event" | "item" | "sess"): string {
    return `${kind}_${this.#prefix}${(++this.#n).toString(36).padStart(4, "0")}`;
  }
}

/** `{type: "error", event_id, error: {type, code, message, param, event_id}}`. */
export function errorEvent(ids: EventIds, error: RealtimeError): ServerEvent {
  return { type: "error", event_id: ids.next("event"), error };
}
