/**
 * Buffered reads from one connection, shared by the HTTP request reader, the body decoders and
 * the WebSocket frame reader. One read is in flight at most: a read started to notice a client
 * going away is the same read the next request waits on.
 */
const FILL_BYTES = 16 * 1024;
const EMPTY = new Uint8Array(0);

export class ConnReader {
  readonly #conn: Deno.Conn;
  /**
   * Bytes read and not consumed are `#buf[#start, #end)`; past `#end` is room for the next
   * reads. Bytes before `#end` are never written again (a view handed out stays what it was):
   * a buffer that runs out of room is replaced, not compacted in place.
   */
  #buf: Uint8Array = EMPTY;
  #start = 0;
  #end = 0;
  /** A read buffer whose bytes were copied out, ready for the next read (none while one runs). */
  #spare: Uint8Array | null = null;
  #inflight: Promise<boolean> | null = null;
  #eof = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes read and not consumed yet. */
  get buffered(): Uint8Array {
    return this.#buf.subarray(this.#start, this.#end);
  }

  get eof(): boolean {
    return this.#eof;
  }

  get reading(): boolean {
    return this.#inflight !== null;
  }

  consume(n: number): void {
    this.#start = Math.min(this.#start + n, this.#end);
    // Nothing left to hold: an idle connection keeps no buffer.
    if (this.#start === this.#end) {
      this.#buf = EMPTY;
      this.#start = this.#end = 0;
    }
  }

  /** Takes up to `n` buffered bytes. */
  take(n: number): Uint8Array {
    const out = this.buffered.subarray(0, n);
    this.consume(out.length);
    return out;
  }

  /** Appends what the peer sends next; false at the end of the stream. Throws on a broken one. */
  fill(): Promise<boolean> {
    if (this.#eof) return Promise.resolve(false);
    this.#inflight ??= (async () => {
      try {
        // A peer sending a byte at a time must not cost a fresh 16 KiB per byte either.
        const chunk = this.#spare ?? new Uint8Array(FILL_BYTES);
        this.#spare = null;
        const n = await this.#conn.read(chunk);
        if (n === null) {
          this.#eof = true;
          return false;
        }
        if (!this.#append(chunk, n)) this.#spare = chunk;
        return true;
      } finally {
        this.#inflight = null;
      }
    })();
    return this.#inflight;
  }

  /**
   * Reads into `target`: buffered bytes first, else straight from the socket (no copy for large
   * payloads). Returns the count, or null at the end of the stream.
   */
  async readInto(target: Uint8Array): Promise<number | null> {
    if (this.#inflight) await this.#inflight;
    if (this.#end > this.#start) {
      const n = Math.min(target.length, this.#end - this.#start);
      target.set(this.#buf.subarray(this.#start, this.#start + n));
      this.consume(n);
      return n;
    }
    if (this.#eof) return null;
    const n = await this.#conn.read(target);
    if (n === null) this.#eof = true;
    return n;
  }

  /**
   * Adds the first `n` bytes of `chunk`, a buffer of its own the reader may keep. True when it
   * kept it; false when the bytes were copied out and `chunk` is free again.
   */
  #append(chunk: Uint8Array, n: number): boolean {
    const held = this.#end - this.#start;
    if (held === 0) {
      // A small read is copied out so a trickling peer does not pin a whole buffer per byte.
      const keep = n >= FILL_BYTES / 4;
      this.#buf = keep ? chunk : chunk.slice(0, n);
      this.#start = 0;
      this.#end = n;
      return keep;
    }
    if (this.#end + n > this.#buf.length) {
      // Room for as much again as is held: a peer sending a byte at a time costs each byte a
      // few copies, not a copy of everything before it.
      const next = new Uint8Array(2 * held + n);
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#start = 0;
      this.#end = held;
    }
    this.#buf.set(chunk.subarray(0, n), this.#end);
    this.#end += n;
    return false;
  }
}
