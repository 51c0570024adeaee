/**
 * Client WebSocket frames for the fuzz corpora, built byte by byte with a fixed mask (as
 * `RawWebSocket.sendFrame` builds them, without the random mask), and streams of them: every
 * opcode, each length encoding, fragmented messages with control frames between fragments, and
 * close frames with codes and reasons.
 */
import { concat } from "./mutator.ts";

export interface FrameOptions {
  fin?: boolean;
  rsv?: number;
  mask?: readonly number[];
  /** The length encoding: the smallest that fits (the default), or 16- or 64-bit even if not. */
  width?: 7 | 16 | 64;
}

export function maskedFrame(
  opcode: number,
  payload: Uint8Array,
  opts: FrameOptions = {},
): Uint8Array {
  const len = payload.length;
  const width = opts.width ?? (len < 126 ? 7 : len < 65536 ? 16 : 64);
  const head: number[] = [((opts.fin ?? true) ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode];
  if (width === 7) head.push(0x80 | len);
  else if (width === 16) head.push(0x80 | 126, len >> 8, len & 255);
  else {
    head.push(0x80 | 127);
    const big = new DataView(new ArrayBuffer(8));
    big.setBigUint64(0, BigInt(len));
    head.push(...new Uint8Array(big.buffer));
  }
  const mask = opts.mask ?? [0x37, 0xfa, 0x21, 0x3d];
  return concat(
    Uint8Array.from(head),
    Uint8Array.from(mask),
    payload.map((b, i) => b ^ mask[i & 3]),
  );
}

const text = (s: string) => new TextEncoder().encode(s);

export function closeBody(code: number, reason = ""): Uint8Array {
  return concat(Uint8Array.of(code >> 8, code & 255), text(reason));
}

/** A few bytes that look like audio. */
export function pcm(n: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (i * 37 + (i >> 3)) & 0xff);
}

/** Streams of valid client frames (text ≤ 100 bytes and binary ≤ 1000 per message). */
export function frameStreams(): Uint8Array[] {
  const f = maskedFrame;
  return [
    f(0x1, text("hello")),
    f(0x1, text('{"type":"EOS","héllo":"wörld ✓"}')),
    f(0x2, pcm(200)),
    f(0x2, pcm(640), { width: 64 }),
    f(0x2, pcm(10), { width: 16, mask: [0, 0, 0, 0] }),
    f(0x2, new Uint8Array(0)),
    concat(
      f(0x1, text("hel"), { fin: false }),
      f(0x9, text("ping")),
      f(0x0, text("l"), { fin: false }),
      f(0x0, text("o")),
    ),
    concat(
      f(0x2, pcm(300), { fin: false }),
      f(0x0, pcm(300), { fin: false }),
      f(0xa, new Uint8Array(0)),
      f(0x0, pcm(300)),
      f(0x1, text("next")),
    ),
    concat(f(0x9, new Uint8Array(125)), f(0xa, text("pong")), f(0x2, pcm(5))),
    f(0x8, closeBody(1000, "bye")),
    f(0x8, closeBody(4001, "ünïcode reason")),
    f(0x8, new Uint8Array(0)),
    concat(f(0x2, pcm(64)), f(0x1, text("t")), f(0x8, closeBody(1001))),
    concat(f(0x1, text("x".repeat(100))), f(0x2, pcm(1000))),
  ];
}
