/**
 * A decoded file's samples handed out a slice at a time, so its features are computed as the
 * decoder gets to them: bounded work per slice (a live stream's step is never held up behind a
 * whole hour of log-mel) and bounded feature memory, whatever the file's length.
 */
export class SampleFeed {
  readonly #samples: Float32Array;
  readonly #slice: number;
  #at = 0;
  #done = false;

  constructor(samples: Float32Array, sliceSamples: number) {
    if (!(sliceSamples >= 1)) throw new RangeError(`slices must hold samples, got ${sliceSamples}`);
    this.#samples = samples;
    this.#slice = sliceSamples;
  }

  /** True once the last slice was handed out. */
  get done(): boolean {
    return this.#done;
  }

  /** The next slice (a view, not a copy) and whether it ends the file; null after the last. */
  next(): { samples: Float32Array; last: boolean } | null {
    if (this.#done) return null;
    const end = Math.min(this.#at + this.#slice, this.#samples.length);
    const samples = this.#samples.subarray(this.#at, end);
    this.#at = end;
    this.#done = end >= this.#samples.length;
    return { samples, last: this.#done };
  }
}
