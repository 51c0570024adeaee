/**
 * A sum over the last `windowMs`, in one-second slots: bounded memory however many values
 * arrive and however rarely anyone scrapes.
 */
export class SlidingSum {
  #slots: Float64Array;
  /** The second each slot holds; a slot from an older second counts as empty. */
  #seconds: Float64Array;
  #now: () => number;

  constructor(windowMs: number, now: () => number) {
    const n = Math.max(1, Math.ceil(windowMs / 1000));
    this.#slots = new Float64Array(n);
    this.#seconds = new Float64Array(n).fill(-Infinity);
    this.#now = now;
  }

  add(value: number): void {
    const second = Math.floor(this.#now() / 1000);
    const i = second % this.#slots.length;
    if (this.#seconds[i] !== second) {
      this.#seconds[i] = second;
      this.#slots[i] = 0;
    }
    this.#slots[i] += value;
  }

  total(): number {
    const second = Math.floor(this.#now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.#slots.length; i++) {
      if (second - this.#seconds[i] < this.#slots.length) sum += this.#slots[i];
    }
    return sum;
  }
}
