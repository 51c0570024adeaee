import type { BodyPace } from "./body_pace.ts";
import type { ConnReader } from "./conn_reader.ts";

/** Reads of a request body, each bounded by what the body's pace still allows. */
export class PacedReader {
  readonly reader: ConnReader;
  readonly #pace: BodyPace;
  readonly #onTooSlow: () => void;

  constructor(reader: ConnReader, pace: BodyPace, onTooSlow: () => void) {
    this.reader = reader;
    this.#pace = pace;
    this.#onTooSlow = onTooSlow;
  }

  fill(): Promise<boolean> {
    const before = this.reader.buffered.length;
    return this.#timed(() => this.reader.fill(), () => this.reader.buffered.length - before);
  }

  readInto(target: Uint8Array): Promise<number | null> {
    if (this.reader.buffered.length > 0) return this.reader.readInto(target);
    return this.#timed(() => this.reader.readInto(target), (n) => n ?? 0);
  }

  async #timed<T>(read: () => Promise<T>, bytes: (result: T) => number): Promise<T> {
    const allowance = this.#pace.allowanceMs();
    if (allowance <= 0) {
      this.#onTooSlow();
      throw new BodyTimeoutError();
    }
    const start = performance.now();
    let late = false;
    // Expiry closes the connection (the owner's job), which ends the pending read.
    const timer = setTimeout(() => {
      late = true;
      this.#onTooSlow();
    }, allowance);
    try {
      const result = await read();
      this.#pace.record(bytes(result), performance.now() - start);
      return result;
    } catch (err) {
      throw late ? new BodyTimeoutError() : err;
    } finally {
      clearTimeout(timer);
    }
  }
}

export class BodyTimeoutError extends Error {
  override name = "BodyTimeoutError";
  constructor() {
    super("the request body arrived too slowly");
  }
}
