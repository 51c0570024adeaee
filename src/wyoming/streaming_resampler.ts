import { Resampler } from "../audio/resample.ts";

/**
 * The project's whole-signal Resampler, fed in pieces: the concatenated output is the same,
 * sample for sample, as `Resampler.process` of the whole input.
 *
 * Output j is filtered around input instant j·down/up. The input kept always starts at a
 * multiple of `down`, so output index 0 of a pass over it is a whole output index of the
 * stream and the filter phases line up. A pass emits only outputs whose taps all lie in input
 * received so far; `end()` emits the rest with zeros after the input, as the whole-signal
 * version does. A pass runs once at least `down` new input samples are in, so its work is at
 * most about twice the new input's, whatever the rate pair.
 */
export class StreamingResampler {
  readonly #resampler: Resampler | null;
  /** Input kept: from absolute input sample `#start`. */
  #buffer = new Float32Array(0);
  #buffered = 0;
  #start = 0;
  /** Input samples received in all. */
  #received = 0;
  /** Output samples emitted in all. */
  #emitted = 0;
  /** Input received when the last pass ran. */
  #passedAt = 0;

  constructor(fromRate: number, toRate: number) {
    this.#resampler = fromRate === toRate ? null : new Resampler(fromRate, toRate);
  }

  /** Takes input; returns the output it completes (possibly none). */
  push(input: Float32Array): Float32Array {
    if (this.#resampler === null) return input;
    this.#append(input);
    this.#received += input.length;
    if (this.#received - this.#passedAt < this.#resampler.down) return new Float32Array(0);
    return this.#pass(false);
  }

  /** The input has ended: returns the remaining output. */
  end(): Float32Array {
    if (this.#resampler === null) return new Float32Array(0);
    return this.#pass(true);
  }

  #append(input: Float32Array): void {
    const need = this.#buffered + input.length;
    if (need > this.#buffer.length) {
      const grown = new Float32Array(Math.max(need, 2 * this.#buffer.length, 1024));
      grown.set(this.#buffer.subarray(0, this.#buffered));
      this.#buffer = grown;
    }
    this.#buffer.set(input, this.#buffered);
    this.#buffered += input.length;
  }

  #pass(final: boolean): Float32Array {
    const r = this.#resampler!;
    this.#passedAt = this.#received;
    const { up, down } = r;
    // Output index of the kept input's first sample: whole, since #start is a multiple of down.
    const offset = (this.#start / down) * up;
    // The last tap of output j is at input floor(j·down/up) + halfTaps, one more where the
    // phase is rounded; outputs up to the last whose taps are all in are complete.
    const complete = final
      ? r.outputLength(this.#received)
      : Math.floor(((this.#received - 2 - r.halfTaps) * up) / down) + 1;
    if (complete <= this.#emitted) return new Float32Array(0);
    const out = r.process(this.#buffer.subarray(0, this.#buffered));
    const emitted = out.slice(this.#emitted - offset, complete - offset);
    this.#emitted = complete;
    // Keep input from the first tap of the next output, rounded down to a multiple of down.
    const firstTap = Math.floor((complete * down) / up) - r.halfTaps - 1;
    const start = Math.max(this.#start, Math.floor(firstTap / down) * down);
    if (start > this.#start) {
      const drop = start - this.#start;
      this.#buffer.copyWithin(0, drop, this.#buffered);
      this.#buffered -= drop;
      this.#start = start;
    }
    return emitted;
  }
}
