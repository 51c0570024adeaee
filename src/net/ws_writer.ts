/**
 * The outgoing frames of one WebSocket, written in order one at a time; `buffered` is what the
 * socket reports as `bufferedAmount`.
 */
export class FrameWriter {
  #conn: Deno.Conn | null = null;
  #queue: Uint8Array[] = [];
  #buffered = 0;
  #writing = false;
  #flushed: (() => void)[] = [];
  readonly #onWritten: (frame: Uint8Array) => void;
  readonly #onFailed: () => void;

  /** `onWritten` follows each frame fully written; `onFailed` a write that threw. */
  constructor(onWritten: (frame: Uint8Array) => void, onFailed: () => void) {
    this.#onWritten = onWritten;
    this.#onFailed = onFailed;
  }

  attach(conn: Deno.Conn): void {
    this.#conn = conn;
  }

  get buffered(): number {
    return this.#buffered;
  }

  push(frame: Uint8Array): void {
    this.#queue.push(frame);
    this.#buffered += frame.length;
    if (!this.#writing) this.#writeLoop();
  }

  async #writeLoop(): Promise<void> {
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && this.#conn) {
        const frame = this.#queue[0];
        let off = 0;
        while (off < frame.length) off += await this.#conn.write(frame.subarray(off));
        this.#queue.shift();
        this.#buffered -= frame.length;
        this.#onWritten(frame);
      }
    } catch {
      this.#queue = [];
      this.#buffered = 0;
      this.#onFailed();
    } finally {
      this.#writing = false;
      for (const f of this.#flushed.splice(0)) f();
    }
  }

  /** Runs `then` once what is queued is written, or after `maxMs` if that comes first. */
  afterFlush(maxMs: number, then: () => void): void {
    if (!this.#writing) {
      then();
      return;
    }
    let done = false;
    const once = () => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      then();
    };
    const timer = setTimeout(once, maxMs);
    this.#flushed.push(once);
  }
}
