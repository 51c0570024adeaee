/**
 * Log lines keyed by client address, at most one per key per interval: a flood of refusals
 * from one address writes one line a minute, not one per connection. Lines held back are
 * counted and the count rides on the next line for that key.
 */
export class RateLimitedLog {
  readonly #log: (line: string) => void;
  readonly #intervalMs: number;
  readonly #now: () => number;
  readonly #maxKeys: number;
  readonly #last = new Map<string, { at: number; held: number }>();

  constructor(
    log: (line: string) => void,
    opts: { intervalMs?: number; now?: () => number; maxKeys?: number } = {},
  ) {
    this.#log = log;
    this.#intervalMs = opts.intervalMs ?? 60_000;
    this.#now = opts.now ?? Date.now;
    this.#maxKeys = opts.maxKeys ?? 10_000;
  }

  /** Logs `line` unless `key` logged within the interval; returns whether it was written. */
  note(key: string, line: string): boolean {
    const now = this.#now();
    const entry = this.#last.get(key);
    if (entry && now - entry.at < this.#intervalMs) {
      entry.held++;
      return false;
    }
    if (!entry && this.#last.size >= this.#maxKeys) {
      this.#forgetExpired(now);
      // Still full: every key logged within the interval; this line waits like the others.
      if (this.#last.size >= this.#maxKeys) return false;
    }
    const held = entry?.held ?? 0;
    this.#last.set(key, { at: now, held: 0 });
    this.#log(held > 0 ? `${line} (and ${held} more from ${key} in the last minute)` : line);
    return true;
  }

  #forgetExpired(now: number): void {
    for (const [key, entry] of this.#last) {
      if (now - entry.at >= this.#intervalMs) this.#last.delete(key);
    }
  }

  /** Keys remembered now (bounded by maxKeys). */
  get size(): number {
    return this.#last.size;
  }
}
