/**
 * The search behind `bench --ramp`: the most streams that hold a latency target. Doubles from
 * `start` until a load fails or `max` is reached, then bisects between the last load that held
 * and the first that did not, until they are within `precision` streams (by default 10% of the
 * load that held, at least 1) or the phase budget is spent. Pure: the caller runs each proposed load and reports whether it held.
 */
export class RampSearch {
  #max: number;
  #maxPhases: number;
  #next: number | null;
  #good = 0;
  #bad: number | null = null;
  #phases = 0;
  #precision: number | null;

  constructor(opts: { start: number; max: number; maxPhases: number; precision?: number }) {
    if (!(opts.start >= 1 && opts.max >= opts.start && opts.maxPhases >= 1)) {
      throw new RangeError(
        `ramp needs 1 ≤ start ≤ max and maxPhases ≥ 1, got start ${opts.start}, max ${opts.max}, maxPhases ${opts.maxPhases}`,
      );
    }
    if (
      opts.precision !== undefined && !(Number.isInteger(opts.precision) && opts.precision >= 1)
    ) {
      throw new RangeError(
        `ramp precision must be a whole number of streams ≥ 1, got ${opts.precision}`,
      );
    }
    this.#precision = opts.precision ?? null;
    this.#max = opts.max;
    this.#maxPhases = opts.maxPhases;
    this.#next = opts.start;
  }

  /** The load to try next, or null when the search is over. */
  next(): number | null {
    return this.#phases >= this.#maxPhases ? null : this.#next;
  }

  /** The most streams seen to hold the target (0 if none did). */
  get best(): number {
    return this.#good;
  }

  /** The fewest streams seen to miss it (null if none did). */
  get firstFailure(): number | null {
    return this.#bad;
  }

  record(streams: number, held: boolean): void {
    this.#phases++;
    if (held) this.#good = Math.max(this.#good, streams);
    else this.#bad = this.#bad === null ? streams : Math.min(this.#bad, streams);
    if (this.#bad === null) {
      this.#next = this.#good >= this.#max ? null : Math.min(this.#max, this.#good * 2);
      return;
    }
    const lo = this.#good, hi = this.#bad;
    const precision = this.#precision ?? Math.max(1, Math.floor(lo / 10));
    this.#next = hi - lo <= precision ? null : Math.floor((lo + hi) / 2);
    if (this.#next !== null && this.#next <= lo) this.#next = null;
  }
}
