/**
 * RFC 6455 framing, pure: frame headers, the checks every client frame must pass before its
 * payload is read, and the frames a server sends (never masked).
 */
export const OP = {
  continuation: 0x0,
  text: 0x1,
  binary: 0x2,
  close: 0x8,
  ping: 0x9,
  pong: 0xa,
} as const;

export interface FrameHeader {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  /** Declared payload length (may be a lie; nothing is allocated from it unchecked). */
  length: number;
  mask: Uint8Array;
  /** Bytes of the header itself. */
  size: number;
}

export type HeaderResult =
  | { kind: "incomplete" }
  | { kind: "header"; header: FrameHeader }
  | { kind: "invalid"; reason: string };

/** Reads a frame header from the start of `b`. */
export function parseFrameHeader(b: Uint8Array): HeaderResult {
  if (b.length < 2) return { kind: "incomplete" };
  const short = b[1] & 0x7f;
  const extra = short === 126 ? 2 : short === 127 ? 8 : 0;
  const masked = (b[1] & 0x80) !== 0;
  const size = 2 + extra + (masked ? 4 : 0);
  if (b.length < size) return { kind: "incomplete" };
  let length = short;
  if (short === 126) length = (b[2] << 8) | b[3];
  else if (short === 127) {
    const big = new DataView(b.buffer, b.byteOffset + 2, 8).getBigUint64(0);
    if (big > BigInt(Number.MAX_SAFE_INTEGER)) {
      return { kind: "invalid", reason: "frame length out of range" };
    }
    length = Number(big);
  }
  const mask = masked ? b.slice(2 + extra, size) : new Uint8Array(0);
  return {
    kind: "header",
    header: {
      fin: (b[0] & 0x80) !== 0,
      rsv: (b[0] >> 4) & 0x7,
      opcode: b[0] & 0x0f,
      masked,
      length,
      mask,
      size,
    },
  };
}

export interface MessageLimits {
  maxBinaryBytes: number;
  maxTextBytes: number;
}

/** What to do with a frame whose header just arrived. */
export type FrameVerdict =
  | { kind: "control" }
  | { kind: "data"; final: boolean; message: number }
  | { kind: "too_large"; message: "text" | "binary"; size: number }
  | { kind: "protocol_error"; reason: string };

/**
 * Tracks the message being assembled across fragments and judges each frame header: protocol
 * rules first, then the running size of the message against its kind's limit, all before a
 * byte of payload is read.
 */
export class MessageGuard {
  readonly #limits: MessageLimits;
  /** The message in progress (its first frame's opcode) and its size so far. */
  #opcode: number | null = null;
  #size = 0;

  constructor(limits: MessageLimits) {
    this.#limits = limits;
  }

  judge(h: FrameHeader): FrameVerdict {
    if (h.rsv !== 0) return error("reserved bits set without an extension");
    if (!h.masked) return error("client frames must be masked");
    if (h.opcode >= 0x8) {
      if (h.opcode > OP.pong) return error(`unknown control opcode 0x${h.opcode.toString(16)}`);
      if (!h.fin) return error("fragmented control frame");
      if (h.length > 125) return error("control frame payload over 125 bytes");
      return { kind: "control" };
    }
    if (h.opcode > OP.binary) return error(`unknown data opcode 0x${h.opcode.toString(16)}`);
    if (h.opcode === OP.continuation) {
      if (this.#opcode === null) return error("continuation frame with nothing to continue");
    } else {
      if (this.#opcode !== null) return error("new message before the last one ended");
      this.#opcode = h.opcode;
      this.#size = 0;
    }
    this.#size += h.length;
    const message = this.#opcode;
    if (h.fin) this.#opcode = null;
    const text = message === OP.text;
    const limit = text ? this.#limits.maxTextBytes : this.#limits.maxBinaryBytes;
    if (this.#size > limit) {
      return { kind: "too_large", message: text ? "text" : "binary", size: this.#size };
    }
    return { kind: "data", final: h.fin, message };
  }

  /** The opcode of the message in progress (text or binary). */
  get opcode(): number | null {
    return this.#opcode;
  }
}

function error(reason: string): FrameVerdict {
  return { kind: "protocol_error", reason };
}

/** XORs `payload` with the 4-byte mask in place; `offset` is where it sits in the frame. */
export function unmask(payload: Uint8Array, mask: Uint8Array, offset = 0): void {
  for (let i = 0; i < payload.length; i++) payload[i] ^= mask[(i + offset) & 3];
}

/** One unmasked server frame. */
export function encodeFrame(opcode: number, payload: Uint8Array, fin = true): Uint8Array {
  const len = payload.length;
  const extra = len < 126 ? 0 : len < 65536 ? 2 : 8;
  const out = new Uint8Array(2 + extra + len);
  out[0] = (fin ? 0x80 : 0) | opcode;
  if (extra === 0) out[1] = len;
  else if (extra === 2) {
    out[1] = 126;
    out[2] = len >> 8;
    out[3] = len & 255;
  } else {
    out[1] = 127;
    new DataView(out.buffer).setBigUint64(2, BigInt(len));
  }
  out.set(payload, 2 + extra);
  return out;
}

/** Close codes a peer may send (RFC 6455 §7.4; 1012–1014 as registered with IANA). */
export function validCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) ||
    (code >= 3000 && code <= 4999);
}

export type CloseInfo =
  | { ok: true; code: number; reason: string }
  | { ok: false; code: 1002 | 1007; reason: string };

export function parseClosePayload(p: Uint8Array): CloseInfo {
  if (p.length === 0) return { ok: true, code: 1005, reason: "" };
  if (p.length === 1) return { ok: false, code: 1002, reason: "one-byte close payload" };
  const code = (p[0] << 8) | p[1];
  if (!validCloseCode(code)) return { ok: false, code: 1002, reason: `invalid close code ${code}` };
  try {
    const reason = new TextDecoder("utf-8", { fatal: true }).decode(p.subarray(2));
    return { ok: true, code, reason };
  } catch {
    return { ok: false, code: 1007, reason: "close reason is not UTF-8" };
  }
}

/**
 * A close frame's payload: the code, then the reason cut to fit 125 bytes, at a character
 * boundary (a peer refuses a reason that is not UTF-8 with 1007).
 */
export function closePayload(code: number, reason: string): Uint8Array {
  if (code === 1005) return new Uint8Array(0);
  let r = new TextEncoder().encode(reason);
  if (r.length > 123) {
    let end = 123;
    while (end > 0 && (r[end] & 0xc0) === 0x80) end--; // its character began before the cut
    r = r.subarray(0, end);
  }
  const out = new Uint8Array(2 + r.length);
  out[0] = code >> 8;
  out[1] = code & 255;
  out.set(r, 2);
  return out;
}
