/**
 * Buffered reads from one connection, shared by the HTTP request reader, the body decoders and
 * the WebSocket frame reader. One read is in flight at most: a read started to notice a client
 * going away is the same read the next request waits on.
 */
const FILL_BYTES = 16 * 1024;

export class ConnReader {
  readonly #conn: Deno.Conn;
  #pending: Uint8Array = new Uint8Array(0);
  #inflight: Promise<boolean> | null = null;
  #eof = false;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  /** Bytes read and not consumed yet. */
  get buffered(): Uint8Array {
    return this.#pending;
  }

  get eof(): boolean {
    return this.#eof;
  }

  get reading(): boolean {
    return this.#inflight !== null;
  }

  consume(n: number): void {
    this.#pending = this.#pending.subarray(n);
  }

  /** Takes up to `n` buffered bytes. */
  take(n: number): Uint8Array {
    const out = this.#pending.subarray(0, n);
    this.#pending = this.#pending.subarray(out.length);
    return out;
  }

  /** Appends what the peer sends next; false at the end of the stream. Throws on a broken one. */
  fill(): Promise<boolean> {
    if (this.#eof) return Promise.resolve(false);
    this.#inflight ??= (async () => {
      try {
        const chunk = new Uint8Array(FILL_BYTES);
        const n = await this.#conn.read(chunk);
        if (n === null) {
          this.#eof = true;
          return false;
        }
        // A small read is copied out so a trickling peer does not pin a whole buffer per byte.
        this.#append(n < FILL_BYTES / 4 ? chunk.slice(0, n) : chunk.subarray(0, n));
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
    if (this.#pending.length > 0) {
      const n = Math.min(target.length, this.#pending.length);
      target.set(this.#pending.subarray(0, n));
      this.consume(n);
      return n;
    }
    if (this.#eof) return null;
    const n = await this.#conn.read(target);
    if (n === null) this.#eof = true;
    return n;
  }

  #append(bytes: Uint8Array): void {
    if (this.#pending.length === 0) {
      this.#pending = bytes;
      return;
    }
    const next = new Uint8Array(this.#pending.length + bytes.length);
    next.set(this.#pending);
    next.set(bytes, this.#pending.length);
    this.#pending = next;
  }
}
