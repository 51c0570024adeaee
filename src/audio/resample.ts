/**
 * Band-limited sample-rate conversion by a Kaiser-windowed sinc, polyphase.
 *
 * The low-pass cutoff sits below the lower of the two Nyquist frequencies: the stopband starts
 * exactly at min(from, to)/2 and the passband ends `transition` (a fraction of that Nyquist)
 * below it, so nothing above the output's Nyquist aliases when downsampling and no images
 * appear when upsampling. Output sample j is the filtered input at time j/to; samples outside
 * the input are zeros.
 *
 * Length rule: a signal of n samples at `from` Hz becomes round(n · to / from) samples (halves
 * round up), so the duration is kept to within half an output sample.
 */

export interface ResamplerOptions {
  /** Stopband attenuation in dB (Kaiser design). Default 80. */
  attenuationDb?: number;
  /** Transition band width as a fraction of the lower Nyquist. Default 0.15. */
  transition?: number;
}

/** Most phases kept exactly; beyond this (unusual rate pairs) the phase is rounded. */
const MAX_PHASES = 4096;

/**
 * Most filter coefficients (8 MiB of float64): phases are dropped below MAX_PHASES to stay
 * within it, so an odd rate pair (e.g. 383,999 Hz → 16 kHz, 3,210 taps) cannot make the filter
 * hundreds of megabytes. At that bound the phase is rounded to 1/326 of an input sample, far
 * below anything audible at the output rate.
 */
export const MAX_FILTER_COEFFS = 1 << 20;

/** Filters kept for reuse: the common rates of one server (44.1, 48, 8, 22.05 kHz…). */
const CACHE_SIZE = 4;

function gcd(a: number, b: number): number {
  while (b !== 0) [a, b] = [b, a % b];
  return a;
}

/** Modified Bessel function of the first kind, order 0 (power series). */
function besselI0(x: number): number {
  let sum = 1;
  let term = 1;
  const q = (x * x) / 4;
  for (let k = 1; k < 200; k++) {
    term *= q / (k * k);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return sum;
}

export class Resampler {
  readonly fromRate: number;
  readonly toRate: number;
  /** Reduced ratio: `to/from = up/down`. */
  readonly up: number;
  readonly down: number;
  /** Taps on each side of the output instant, in input samples. */
  readonly halfTaps: number;
  readonly #phases: number;
  readonly #taps: number;
  /** Integer decimation (up = 1): one odd-length kernel, symmetric about the output instant. */
  readonly #symmetric: boolean;
  readonly #coeffs: Float64Array;

  constructor(fromRate: number, toRate: number, options: ResamplerOptions = {}) {
    for (const [name, rate] of [["from", fromRate], ["to", toRate]] as const) {
      if (!Number.isInteger(rate) || rate <= 0) {
        throw new RangeError(
          `Cannot resample: ${name} rate must be a positive integer, got ${rate}`,
        );
      }
    }
    const attenuation = options.attenuationDb ?? 80;
    const transition = options.transition ?? 0.15;
    if (!(attenuation > 21 && transition > 0 && transition < 1)) {
      throw new RangeError(
        `Cannot resample: expected attenuationDb > 21 and 0 < transition < 1, got ${attenuation}, ${transition}`,
      );
    }
    this.fromRate = fromRate;
    this.toRate = toRate;
    const g = gcd(fromRate, toRate);
    this.up = toRate / g;
    this.down = fromRate / g;

    const lowNyquist = Math.min(fromRate, toRate) / 2;
    const widthHz = transition * lowNyquist;
    // Cutoff at the middle of the transition band, in cycles per input sample.
    const fc = (lowNyquist - widthHz / 2) / fromRate;
    const beta = attenuation > 50
      ? 0.1102 * (attenuation - 8.7)
      : 0.5842 * Math.pow(attenuation - 21, 0.4) + 0.07886 * (attenuation - 21);
    // Kaiser's estimate of the filter length, in input samples.
    const length = (attenuation - 8) / (2.285 * 2 * Math.PI * (widthHz / fromRate));
    const half = Math.max(1, Math.ceil(length / 2));
    this.halfTaps = half;
    const taps = this.up === 1 ? 2 * half + 1 : 2 * half;
    const phases = Math.max(1, Math.min(this.up, MAX_PHASES, Math.floor(MAX_FILTER_COEFFS / taps)));
    this.#phases = phases;
    const symmetric = this.up === 1;
    this.#symmetric = symmetric;
    this.#taps = taps;
    const coeffs = new Float64Array(phases * taps);
    const i0Beta = besselI0(beta);
    for (let p = 0; p < phases; p++) {
      const frac = p / phases;
      let sum = 0;
      for (let m = 0; m < taps; m++) {
        // Tap m multiplies input sample (first + m); tau = output instant − that sample.
        const tau = symmetric ? half - m : frac + half - 1 - m;
        const r = tau / half;
        let h = 0;
        if (Math.abs(r) <= 1) {
          const x = 2 * fc * tau;
          const sinc = x === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
          h = 2 * fc * sinc * (besselI0(beta * Math.sqrt(1 - r * r)) / i0Beta);
        }
        coeffs[p * taps + m] = h;
        sum += h;
      }
      // Unity gain at DC for every phase.
      for (let m = 0; m < taps; m++) coeffs[p * taps + m] /= sum;
    }
    this.#coeffs = coeffs;
  }

  /** round(n · to / from), halves rounding up. */
  outputLength(inputLength: number): number {
    return Math.floor((2 * inputLength * this.up + this.down) / (2 * this.down));
  }

  /** Coefficients the filter holds (phases × taps). */
  get filterSize(): number {
    return this.#coeffs.length;
  }

  /** Resamples a whole signal; `out` (if given) must hold `outputLength(input.length)`. */
  process(input: Float32Array, out?: Float32Array): Float32Array {
    const outLen = this.outputLength(input.length);
    const dst = out ?? new Float32Array(outLen);
    if (dst.length < outLen) {
      throw new RangeError(`Cannot resample into ${dst.length} samples: ${outLen} are needed`);
    }
    if (this.up === this.down) {
      dst.set(input);
      return dst.subarray(0, outLen);
    }
    const n = input.length;
    const up = this.up;
    const down = this.down;
    const half = this.halfTaps;
    const taps = this.#taps;
    const coeffs = this.#coeffs;
    const symmetric = this.#symmetric;
    const phases = this.#phases;
    const exactPhases = phases === up;
    const phaseScale = phases / up;
    let i0 = 0; // floor(j · down / up)
    let rem = 0; // (j · down) mod up
    for (let j = 0; j < outLen; j++) {
      let p = rem;
      let base = i0;
      if (!exactPhases) {
        // Rounding the phase up to a whole sample moves the kernel on by one sample.
        p = Math.floor(rem * phaseScale + 0.5);
        if (p === phases) {
          p = 0;
          base++;
        }
      }
      const first = symmetric ? base - half : base - half + 1;
      const c = p * taps;
      let acc = 0;
      if (first >= 0 && first + taps <= n) {
        if (symmetric) {
          // Fold the symmetric kernel: half the multiplications.
          const last = first + taps - 1;
          acc = coeffs[half] * input[first + half];
          for (let m = 0; m < half; m++) acc += coeffs[m] * (input[first + m] + input[last - m]);
        } else {
          for (let m = 0; m < taps; m++) acc += coeffs[c + m] * input[first + m];
        }
      } else {
        const lo = Math.max(0, -first);
        const hi = Math.min(taps, n - first);
        for (let m = lo; m < hi; m++) acc += coeffs[c + m] * input[first + m];
      }
      dst[j] = acc;
      rem += down;
      if (rem >= up) {
        const q = Math.floor(rem / up);
        i0 += q;
        rem -= q * up;
      }
    }
    return dst.subarray(0, outLen);
  }
}

/** Least recently used first: a Map keeps insertion order, and a hit is re-inserted. */
const cache = new Map<string, Resampler>();

/** Resamples `input` from `fromRate` to `toRate` (default 16 kHz); the same array if equal. */
export function resample(
  input: Float32Array,
  fromRate: number,
  toRate = 16000,
  options: ResamplerOptions = {},
): Float32Array {
  if (fromRate === toRate) return input;
  const key = `${fromRate}:${toRate}:${options.attenuationDb ?? ""}:${options.transition ?? ""}`;
  let r = cache.get(key);
  if (r === undefined) {
    r = new Resampler(fromRate, toRate, options);
    if (cache.size >= CACHE_SIZE) cache.delete(cache.keys().next().value!);
  } else {
    cache.delete(key);
  }
  cache.set(key, r);
  return r.process(input);
}

/** Filters the cache holds now (for tests and memory accounting). */
export function cachedResamplers(): number {
  return cache.size;
}
