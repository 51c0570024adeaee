/**
 * How long a request body may keep the server waiting. A client must send something at least
 * every `stallMs`, and over the time spent waiting for it the body must average `minBytesPerS`
 * after a first `stallMs` of grace: a 100 MB upload over any link faster than the minimum rate
 * gets through however long it takes, one byte every few seconds does not. Only time spent
 * waiting on the socket counts, not time the application takes to read what arrived.
 */
export class BodyPace {
  readonly stallMs: number;
  readonly minBytesPerS: number;
  #bytes = 0;
  #waitedMs = 0;

  constructor(stallMs: number, minBytesPerS: number) {
    this.stallMs = stallMs;
    this.minBytesPerS = minBytesPerS;
  }

  /** How long the next read may wait before the body is too slow (≤ 0: already too slow). */
  allowanceMs(): number {
    const earned = this.stallMs + (this.#bytes / this.minBytesPerS) * 1000;
    return Math.min(this.stallMs, earned - this.#waitedMs);
  }

  /** A read that waited `waitedMs` and brought `bytes`. */
  record(bytes: number, waitedMs: number): void {
    this.#bytes += bytes;
    this.#waitedMs += waitedMs;
  }
}
