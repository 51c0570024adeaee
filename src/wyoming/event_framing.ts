/**
 * Wyoming's wire framing, as the `wyoming` Python package 1.10.2 (wyoming/event.py) reads and
 * writes it: one JSON header line (`type`, and either `data` inline or `data_length`, plus
 * `payload_length`), then `data_length` bytes of JSON merged over the inline `data`, then
 * `payload_length` raw bytes. Older writers put `data` inline only; both are read.
 *
 * The reader is pure (bytes in, events out) and hostile-input safe: the header line, the data
 * and the payload each have a cap, and a length is checked against its cap before anything is
 * allocated for it.
 */

export interface WyomingEvent {
  type: string;
  data: Record<string, unknown>;
  payload: Uint8Array | null;
}

export interface FramingLimits {
  /** Longest header line, newline excluded. */
  maxHeaderBytes: number;
  /** Largest `data_length`. */
  maxDataBytes: number;
  /** Largest `payload_length`. */
  maxPayloadBytes: number;
}

export const DEFAULT_FRAMING_LIMITS: FramingLimits = {
  maxHeaderBytes: 65_536,
  maxDataBytes: 65_536,
  maxPayloadBytes: 1_048_576,
};

/** Why a stream of bytes stopped being readable; the connection must be closed after it. */
export interface FramingError {
  code: "header_too_large" | "data_too_large" | "payload_too_large" | "bad_event";
  message: string;
}

export type ReadResult =
  | { ok: true; event: WyomingEvent }
  | { ok: false; error: FramingError };

const NEWLINE = 0x0a;
const decoder = new TextDecoder("utf-8", { fatal: true });
const encoder = new TextEncoder();

/** Header fields waiting for their data and payload bytes. */
interface PendingEvent {
  type: string;
  data: Record<string, unknown>;
  dataLength: number;
  payloadLength: number;
}

/**
 * Incremental reader: `push` bytes as they arrive (cut anywhere), get every event they
 * complete. After an error it stays failed and returns nothing more.
 */
export class WyomingEventReader {
  readonly #limits: FramingLimits;
  /** Header bytes so far (no newline seen yet). */
  #line: Uint8Array[] = [];
  #lineBytes = 0;
  #pending: PendingEvent | null = null;
  /** Data bytes, then payload bytes, of the pending event: allocated at their checked length. */
  #body: Uint8Array | null = null;
  #bodyFilled = 0;
  #stage: "data" | "payload" = "data";
  #failed: FramingError | null = null;

  constructor(limits: FramingLimits = DEFAULT_FRAMING_LIMITS) {
    this.#limits = limits;
  }

  get failed(): FramingError | null {
    return this.#failed;
  }

  /** True while part of an event has been received (a clean end of stream has none). */
  get midEvent(): boolean {
    return this.#lineBytes > 0 || this.#pending !== null;
  }

  push(bytes: Uint8Array): ReadResult[] {
    const out: ReadResult[] = [];
    let at = 0;
    while (at < bytes.length && this.#failed === null) {
      if (this.#pending === null) {
        at = this.#readHeader(bytes, at, out);
      } else {
        at = this.#readBody(bytes, at, out);
      }
    }
    return out;
  }

  #fail(error: FramingError, out: ReadResult[]): void {
    this.#failed = error;
    // Nothing of the dropped line remains: `midEvent` must not depend on where the bytes were cut.
    this.#line = [];
    this.#lineBytes = 0;
    this.#body = null;
    this.#pending = null;
    out.push({ ok: false, error });
  }

  #readHeader(bytes: Uint8Array, at: number, out: ReadResult[]): number {
    const nl = bytes.indexOf(NEWLINE, at);
    const end = nl < 0 ? bytes.length : nl;
    if (this.#lineBytes + (end - at) > this.#limits.maxHeaderBytes) {
      this.#fail({
        code: "header_too_large",
        message: `Event header line over ${this.#limits.maxHeaderBytes} bytes`,
      }, out);
      return bytes.length;
    }
    // Copied: the caller may reuse its read buffer.
    this.#line.push(bytes.slice(at, end));
    this.#lineBytes += end - at;
    if (nl < 0) return bytes.length;
    const line = concat(this.#line, this.#lineBytes);
    this.#line = [];
    this.#lineBytes = 0;
    const header = parseHeader(line, this.#limits);
    if (!header.ok) {
      this.#fail(header.error, out);
      return bytes.length;
    }
    this.#startBody(header.event, out);
    return nl + 1;
  }

  #startBody(pending: PendingEvent, out: ReadResult[]): void {
    this.#pending = pending;
    if (pending.dataLength > 0) {
      this.#stage = "data";
      this.#body = new Uint8Array(pending.dataLength);
    } else if (pending.payloadLength > 0) {
      this.#stage = "payload";
      this.#body = new Uint8Array(pending.payloadLength);
    } else {
      this.#emit(null, out);
      return;
    }
    this.#bodyFilled = 0;
  }

  #readBody(bytes: Uint8Array, at: number, out: ReadResult[]): number {
    const body = this.#body!;
    const n = Math.min(body.length - this.#bodyFilled, bytes.length - at);
    body.set(bytes.subarray(at, at + n), this.#bodyFilled);
    this.#bodyFilled += n;
    if (this.#bodyFilled < body.length) return at + n;
    const pending = this.#pending!;
    if (this.#stage === "data") {
      const merged = parseJsonObject(body);
      if (merged === null) {
        this.#fail({ code: "bad_event", message: "Event data is not a JSON object" }, out);
        return bytes.length;
      }
      Object.assign(pending.data, merged);
      if (pending.payloadLength > 0) {
        this.#stage = "payload";
        this.#body = new Uint8Array(pending.payloadLength);
        this.#bodyFilled = 0;
        return at + n;
      }
      this.#emit(null, out);
    } else {
      this.#emit(body, out);
    }
    return at + n;
  }

  #emit(payload: Uint8Array | null, out: ReadResult[]): void {
    const p = this.#pending!;
    this.#pending = null;
    this.#body = null;
    out.push({ ok: true, event: { type: p.type, data: p.data, payload } });
  }
}

function parseHeader(
  line: Uint8Array,
  limits: FramingLimits,
): { ok: true; event: PendingEvent } | { ok: false; error: FramingError } {
  const bad = (message: string) => ({
    ok: false as const,
    error: { code: "bad_event" as const, message },
  });
  const header = parseJsonObject(line);
  if (header === null) return bad("Event header is not a JSON object on one line");
  const type = header.type;
  if (typeof type !== "string" || type.length === 0) return bad("Event header has no type");
  const data = header.data ?? {};
  if (typeof data !== "object" || data === null || Array.isArray(data)) {
    return bad("Event data is not a JSON object");
  }
  const dataLength = lengthField(header.data_length);
  const payloadLength = lengthField(header.payload_length);
  if (dataLength === null || payloadLength === null) {
    return bad("data_length and payload_length must be whole numbers of bytes");
  }
  if (dataLength > limits.maxDataBytes) {
    return {
      ok: false,
      error: {
        code: "data_too_large",
        message: `data_length ${dataLength} is over the limit of ${limits.maxDataBytes} bytes`,
      },
    };
  }
  if (payloadLength > limits.maxPayloadBytes) {
    return {
      ok: false,
      error: {
        code: "payload_too_large",
        message:
          `payload_length ${payloadLength} is over the limit of ${limits.maxPayloadBytes} bytes`,
      },
    };
  }
  return {
    ok: true,
    event: { type, data: data as Record<string, unknown>, dataLength, payloadLength },
  };
}

/** A length field: absent or null is 0 (as the Python reader treats them); else a whole number. */
function lengthField(value: unknown): number | null {
  if (value === undefined || value === null) return 0;
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) return null;
  return value;
}

function parseJsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const value = JSON.parse(decoder.decode(bytes));
    if (typeof value !== "object" || value === null || Array.isArray(value)) return null;
    return value as Record<string, unknown>;
  } catch {
    return null;
  }
}

function concat(parts: Uint8Array[], total: number): Uint8Array {
  if (parts.length === 1) return parts[0];
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * One event as bytes, written the way the Python package writes them: `data` after the header
 * line with its `data_length` (never inline), the payload after that.
 */
export function encodeEvent(
  type: string,
  data: Record<string, unknown> = {},
  payload: Uint8Array | null = null,
): Uint8Array {
  const header: Record<string, unknown> = { type, version: WYOMING_VERSION };
  const dataBytes = Object.keys(data).length > 0 ? encoder.encode(JSON.stringify(data)) : null;
  if (dataBytes) header.data_length = dataBytes.length;
  if (payload && payload.length > 0) header.payload_length = payload.length;
  const line = encoder.encode(JSON.stringify(header) + "\n");
  const out = new Uint8Array(
    line.length + (dataBytes?.length ?? 0) + (payload?.length ?? 0),
  );
  out.set(line, 0);
  if (dataBytes) out.set(dataBytes, line.length);
  if (payload && payload.length > 0) out.set(payload, line.length + (dataBytes?.length ?? 0));
  return out;
}

/** The protocol version this implementation follows (sent in every header, as the package does). */
export const WYOMING_VERSION = "1.10.2";
