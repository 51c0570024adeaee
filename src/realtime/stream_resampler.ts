import { Resampler } from "../audio/resample.ts";

/**
 * The project's resampler over audio that arrives in pieces. Output sample j needs the input
 * around j · from / to, so each piece yields the samples whose filter taps it completes; the
 * rest wait for more input or for `flush`, which reads the missing input as zeros, as the
 * whole-signal resampler does at the end. The concatenated output is the one
 * `Resampler.process` gives for the whole input.
 */
export class StreamResampler {
  readonly #r: Resampler | null;
  /** Input not yet consumed; starts at absolute sample #bufStart, a multiple of `down`. */
  #buf = new Float32Array(0);
  #bufStart = 0;
  /** Input samples received since the start (or the last flush). */
  #received = 0;
  /** Next output sample to produce (absolute). */
  #next = 0;

  constructor(fromRate: number, toRate: number) {
    this.#r = fromRate === toRate ? null : new Resampler(fromRate, toRate);
  }

  /** Samples at the output rate that this input completes. */
  push(input: Float32Array): Float32Array {
    if (this.#r === null) return input;
    this.#append(input);
    const { up, down, halfTaps } = this.#r;
    // The last tap of output j sits at floor(j·down/up) + halfTaps (+1 when a rounded phase
    // moves the kernel on): j is ready once that sample has arrived.
    let ready = this.#next;
    const limit = this.#received - halfTaps - 2;
    if (limit >= 0) ready = Math.max(ready, Math.floor(((limit + 1) * up - 1) / down) + 1);
    return this.#emit(Math.min(ready, this.#r.outputLength(this.#received)));
  }

  /** The output still owed for the input so far (its end read as zeros); then starts afresh. */
  flush(): Float32Array {
    if (this.#r === null) return new Float32Array(0);
    const out = this.#emit(this.#r.outputLength(this.#received));
    this.reset();
    return out;
  }

  /** Forgets all input. */
  reset(): void {
    this.#buf = new Float32Array(0);
    this.#bufStart = 0;
    this.#received = 0;
    this.#next = 0;
  }

  #append(input: Float32Array): void {
    const joined = new Float32Array(this.#buf.length + input.length);
    joined.set(this.#buf);
    joined.set(input, this.#buf.length);
    this.#buf = joined;
    this.#received += input.length;
  }

  /** Outputs [#next, end) computed from the buffer, which then drops input no longer needed. */
  #emit(end: number): Float32Array {
    const r = this.#r!;
    if (end <= this.#next) return new Float32Array(0);
    // The buffer starts on a multiple of `down`, so its first output is whole and in phase.
    const firstOut = (this.#bufStart / r.down) * r.up;
    const all = r.process(this.#buf);
    const out = all.slice(this.#next - firstOut, end - firstOut);
    this.#next = end;
    // Keep from the first tap of the next output, rounded down to a multiple of `down`.
    const firstTap = Math.max(0, Math.floor((this.#next * r.down) / r.up) - r.halfTaps - 1);
    const keepFrom = Math.floor(firstTap / r.down) * r.down;
    if (keepFrom > this.#bufStart) {
      this.#buf = this.#buf.slice(keepFrom - this.#bufStart);
      this.#bufStart = keepFrom;
    }
    return out;
  }
}
