import type { WordTiming } from "../decode/words.ts";
import type { WireErrorCode } from "./wire_errors.ts";

/**
 * The WebSocket protocol, defined once. Client → server: binary PCM16 LE mono 16 kHz audio in
 * any size, and the control frames `__CTRL__:EOS` / `__CTRL__:RESET` as binary or text. As an
 * extension, text frames may also carry JSON `{"type":"eos"|"reset"|"keepalive"}`; a keepalive is
 * accepted and does nothing (it does not hold an idle stream open: only audio does).
 * Server → client: JSON text frames (`partial`, `final`, `error`).
 */
export type ClientMessage =
  | { kind: "audio"; bytes: Uint8Array }
  | { kind: "eos" }
  | { kind: "reset" }
  | { kind: "keepalive" };

export interface ProtocolViolation {
  code: WireErrorCode;
  message: string;
}

export type ParseResult =
  | { ok: true; message: ClientMessage }
  | { ok: false; error: ProtocolViolation };

export interface FrameLimits {
  maxBinaryBytes: number;
  maxTextBytes: number;
}

export const CTRL_EOS = "__CTRL__:EOS";
export const CTRL_RESET = "__CTRL__:RESET";
const EOS_BYTES = new TextEncoder().encode(CTRL_EOS);
const RESET_BYTES = new TextEncoder().encode(CTRL_RESET);
const encoder = new TextEncoder();

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The answer to a message over its limit: from the frame parser (which knows the size before
 * reading the payload) or from `parseClientFrame`. `size` null: not measured.
 */
export function tooLarge(
  kind: "binary" | "text",
  size: number | null,
  limit: number,
): ProtocolViolation {
  const message = kind === "binary"
    ? `Cannot accept audio frame: size ${size} bytes exceeds the limit of ${limit}`
    : size === null
    ? `Cannot accept text frame: size exceeds the limit of ${limit} bytes`
    : `Cannot accept text frame: size ${size} bytes exceeds the limit of ${limit} bytes`;
  return { code: "message_too_large", message };
}

/** Classifies one incoming frame. Never throws: every bad frame gets a violation to report. */
export function parseClientFrame(
  data: string | ArrayBuffer | Uint8Array,
  limits: FrameLimits,
): ParseResult {
  if (typeof data !== "string") {
    const size = data.byteLength;
    if (size > limits.maxBinaryBytes) {
      return { ok: false, error: tooLarge("binary", size, limits.maxBinaryBytes) };
    }
    const bytes = data instanceof Uint8Array ? data : new Uint8Array(data);
    if (bytes.length === EOS_BYTES.length && sameBytes(bytes, EOS_BYTES)) {
      return ok({ kind: "eos" });
    }
    if (bytes.length === RESET_BYTES.length && sameBytes(bytes, RESET_BYTES)) {
      return ok({ kind: "reset" });
    }
    return ok({ kind: "audio", bytes });
  }
  // A UTF-16 length bound first, so a huge string is never encoded just to be measured.
  if (data.length > limits.maxTextBytes || encoder.encode(data).length > limits.maxTextBytes) {
    return { ok: false, error: tooLarge("text", null, limits.maxTextBytes) };
  }
  if (data === CTRL_EOS) return ok({ kind: "eos" });
  if (data === CTRL_RESET) return ok({ kind: "reset" });
  let parsed: unknown;
  try {
    parsed = JSON.parse(data);
  } catch {
    return violation(
      "invalid_message",
      `Cannot understand text frame ${
        preview(data)
      }: expected "${CTRL_EOS}", "${CTRL_RESET}" or a JSON control message; audio goes in binary frames`,
    );
  }
  const type = typeof parsed === "object" && parsed !== null && !Array.isArray(parsed)
    ? (parsed as Record<string, unknown>).type
    : undefined;
  switch (type) {
    case "eos":
      return ok({ kind: "eos" });
    case "reset":
      return ok({ kind: "reset" });
    case "keepalive":
      return ok({ kind: "keepalive" });
    default:
      return violation(
        "invalid_message",
        `Cannot understand JSON message ${
          preview(data)
        }: "type" must be "eos", "reset" or "keepalive"`,
      );
  }
}

function preview(text: string): string {
  return JSON.stringify(text.length > 60 ? text.slice(0, 60) + "…" : text);
}

function ok(message: ClientMessage): ParseResult {
  return { ok: true, message };
}

function violation(code: WireErrorCode, message: string): ParseResult {
  return { ok: false, error: { code, message } };
}

/**
 * Server messages. The seed's fields (`type`, `text`) never change; the others are extensions:
 * `stable` is the committed prefix of `text` (it only grows), the rest of `text` is tentative;
 * `words` time what the message shows, in seconds from the start of the utterance.
 */
export type ServerMessage =
  | {
    type: "partial";
    text: string;
    stable?: string;
    words?: WordTiming[];
    /** Characters of the utterance's text left out before `text` (PARTIAL_MAX_WORDS). */
    text_offset?: number;
  }
  | { type: "final"; text: string; words?: WordTiming[] }
  | {
    type: "segment";
    index: number;
    text: string;
    words: WordTiming[];
    start: number;
    end: number;
  }
  | { type: "error"; code: WireErrorCode; message: string };

export function encodeServerMessage(message: ServerMessage): string {
  return JSON.stringify(message);
}
