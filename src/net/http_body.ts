/**
 * Request bodies as streams the handler pulls: nothing is read from the socket before the
 * handler asks, so a handler that refuses a body early never buffers it.
 */
import type { PacedReader } from "./paced_reader.ts";

const CHUNK_BYTES = 64 * 1024;
/** A chunk-size line (with extensions) or a trailer section longer than this is refused. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

const TOKEN = /[!#$%&'*+\-.^_`|~0-9A-Za-z]+/.source;
/** Lines are decoded as windows-1252 (TextDecoder's "latin1"): obs-text is any non-ASCII. */
const QUOTED = /"(?:[\t !\x23-\x5b\x5d-\x7e\x80-\uffff]|\\[\t\x20-\x7e\x80-\uffff])*"/.source;
const EXTENSION = String.raw`[ \t]*;[ \t]*${TOKEN}(?:[ \t]*=[ \t]*(?:${TOKEN}|${QUOTED}))?`;
/**
 * A chunk-size line as RFC 9112 §7.1 writes it, and nothing else: hex digits (12 at most, so the
 * size stays an exact number), then extensions with spaces or tabs only around `;` and `=`. A
 * proxy that read a lenient form (" 5", "5 ", "5\xa0") another way would see another request.
 */
const CHUNK_SIZE_LINE = new RegExp(`^([0-9A-Fa-f]{1,12})(?:${EXTENSION})*$`);

/** How a body ended: read to its end (the connection may carry another request) or not. */
export type BodyEnd = "complete" | "abandoned";

export class BodyFormatError extends Error {
  override name = "BodyFormatError";
}

function stream(
  next: () => Promise<Uint8Array | null>,
  onEnd: (end: BodyEnd) => void,
  beforeFirstRead?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let ended = false;
  let started = false;
  const end = (how: BodyEnd) => {
    if (ended) return;
    ended = true;
    onEnd(how);
  };
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      try {
        if (!started) {
          started = true;
          await beforeFirstRead?.();
        }
        const chunk = await next();
        if (chunk === null) {
          end("complete");
          controller.close();
        } else controller.enqueue(chunk);
      } catch (err) {
        end("abandoned");
        controller.error(err);
      }
    },
    cancel() {
      end("abandoned");
    },
  }, { highWaterMark: 0 });
}

/**
 * A body of exactly `length` bytes (Content-Length). `beforeFirstRead` runs when the handler
 * first asks for the body (to send `100 Continue`).
 */
export function lengthBody(
  src: PacedReader,
  length: number,
  onEnd: (end: BodyEnd) => void,
  beforeFirstRead?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let left = length;
  return stream(
    async () => {
      if (left === 0) return null;
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, left));
      const n = await src.readInto(chunk);
      if (n === null) throw new BodyFormatError("the client closed before the end of the body");
      left -= n;
      return n === chunk.length ? chunk : chunk.slice(0, n);
    },
    onEnd,
    beforeFirstRead,
  );
}

/** A `Transfer-Encoding: chunked` body (RFC 9112 §7.1); trailers are read and dropped. */
export function chunkedBody(
  src: PacedReader,
  onEnd: (end: BodyEnd) => void,
  beforeFirstRead?: () => Promise<void>,
): ReadableStream<Uint8Array> {
  let left = 0;
  let finished = false;
  const line = async (max: number): Promise<string> => {
    for (;;) {
      const b = src.reader.buffered;
      const at = indexOfCrlf(b);
      // The cap holds however the line arrives: found whole in one read, or still without its
      // CRLF (past `max + 1` bytes: a line of `max` and its CR may wait for the LF).
      if (at > max || (at < 0 && b.length > max + 1)) {
        throw new BodyFormatError("a chunk line is too long");
      }
      if (at >= 0) {
        const text = new TextDecoder("latin1").decode(b.subarray(0, at));
        src.reader.consume(at + 2);
        return text;
      }
      if (!(await src.fill())) {
        throw new BodyFormatError("the client closed before the end of the body");
      }
    }
  };
  return stream(
    async () => {
      if (finished) return null;
      if (left === 0) {
        const sizeLine = await line(MAX_LINE_BYTES);
        const size = CHUNK_SIZE_LINE.exec(sizeLine);
        if (!size) {
          throw new BodyFormatError(`malformed chunk size line "${sizeLine.slice(0, 20)}"`);
        }
        left = parseInt(size[1], 16);
        if (left === 0) {
          let trailers = 0;
          for (;;) {
            const t = await line(MAX_LINE_BYTES);
            if (t === "") break;
            trailers += t.length;
            if (trailers > MAX_TRAILER_BYTES) throw new BodyFormatError("trailers too long");
          }
          finished = true;
          return null;
        }
      }
      const chunk = new Uint8Array(Math.min(CHUNK_BYTES, left));
      const n = await src.readInto(chunk);
      if (n === null) throw new BodyFormatError("the client closed before the end of the body");
      left -= n;
      if (left === 0 && (await line(2)) !== "") {
        throw new BodyFormatError("chunk data longer than its size");
      }
      return n === chunk.length ? chunk : chunk.slice(0, n);
    },
    onEnd,
    beforeFirstRead,
  );
}

function indexOfCrlf(b: Uint8Array): number {
  for (let i = 0; i + 1 < b.length; i++) if (b[i] === 13 && b[i + 1] === 10) return i;
  return -1;
}
