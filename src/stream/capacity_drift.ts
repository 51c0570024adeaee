/**
 * Whether the step costs seen while serving still match the table the capacity was computed
 * from. Each batch's encoder + decoder time is divided by what the table predicts for its size;
 * an exponentially weighted mean of that ratio that stays outside [low, high] for `holdMs` calls
 * for a new capacity, at most once per `minIntervalMs`. Pure, with an injected clock.
 */

export interface DriftOptions {
  /** Below this mean ratio the device got faster than measured. */
  low: number;
  /** Above it, slower (another process took the cores, the GPU clocks down). */
  high: number;
  /** How long the mean must stay outside the bounds, in ms. */
  holdMs: number;
  /** Least time between two recomputations (and from the start), in ms. */
  minIntervalMs: number;
  /** Weight of each new batch in the mean (0–1). */
  weight: number;
}

export const DEFAULT_DRIFT: DriftOptions = {
  low: 0.67,
  high: 1.5,
  holdMs: 30_000,
  minIntervalMs: 60_000,
  weight: 0.05,
};

export class DriftWatch {
  #predict: (windows: number) => number;
  #opts: DriftOptions;
  #now: () => number;
  #mean = 1;
  #outsideSince: number | null = null;
  #lastRecompute: number;

  /** `predict`: the encoder + decoder ms the table expects for a batch of that many windows. */
  constructor(
    predict: (windows: number) => number,
    opts: DriftOptions = DEFAULT_DRIFT,
    now: () => number = () => performance.now(),
  ) {
    if (!(opts.low > 0 && opts.low < 1 && opts.high > 1 && opts.weight > 0 && opts.weight <= 1)) {
      throw new RangeError("drift bounds must surround 1 and the weight be in (0, 1]");
    }
    this.#predict = predict;
    this.#opts = opts;
    this.#now = now;
    this.#lastRecompute = now();
  }

  /** The mean ratio of observed to predicted cost (1 when it matches). */
  get ratio(): number {
    return this.#mean;
  }

  /**
   * One batch of `windows` stream windows took `computeMs`. Returns the mean ratio when the
   * capacity should be recomputed from the table scaled by it, else null.
   */
  observe(windows: number, computeMs: number): number | null {
    const predicted = this.#predict(windows);
    if (!(windows >= 1 && predicted > 0 && computeMs >= 0)) return null;
    const w = this.#opts.weight;
    this.#mean = (1 - w) * this.#mean + w * (computeMs / predicted);
    const now = this.#now();
    if (this.#mean >= this.#opts.low && this.#mean <= this.#opts.high) {
      this.#outsideSince = null;
      return null;
    }
    this.#outsideSince ??= now;
    if (now - this.#outsideSince < this.#opts.holdMs) return null;
    if (now - this.#lastRecompute < this.#opts.minIntervalMs) return null;
    return this.#mean;
  }

  /** The capacity was recomputed with a table that predicts `predict`: drift is measured anew. */
  rebase(predict: (windows: number) => number): void {
    this.#predict = predict;
    this.#mean = 1;
    this.#outsideSince = null;
    this.#lastRecompute = this.#now();
  }
}
