/**
 * Real-input FFT of a power-of-two size N, computed as an N/2-point complex radix-2 FFT of the
 * even/odd-packed input followed by the standard split step. Twiddles and the bit-reversal table
 * are computed once per instance; `powerSpectrum` allocates nothing.
 */
export class RealFft {
  readonly size: number;
  readonly bins: number;
  readonly #half: number;
  readonly #bitrev: Uint32Array;
  /** cos/sin of -2πk/half for the complex stage, k < half/2. */
  readonly #cos: Float64Array;
  readonly #sin: Float64Array;
  /** cos/sin of -2πk/size for the split stage, k ≤ half. */
  readonly #splitCos: Float64Array;
  readonly #splitSin: Float64Array;
  readonly #re: Float64Array;
  readonly #im: Float64Array;

  constructor(size: number) {
    if (!Number.isInteger(size) || size < 4 || (size & (size - 1)) !== 0) {
      throw new RangeError(`Cannot build a real FFT of size ${size}: expected a power of two ≥ 4`);
    }
    this.size = size;
    this.bins = size / 2 + 1;
    const half = size / 2;
    this.#half = half;
    const bits = Math.log2(half);
    this.#bitrev = new Uint32Array(half);
    for (let i = 0; i < half; i++) {
      let r = 0;
      for (let b = 0; b < bits; b++) r |= ((i >> b) & 1) << (bits - 1 - b);
      this.#bitrev[i] = r;
    }
    this.#cos = new Float64Array(Math.max(1, half / 2));
    this.#sin = new Float64Array(Math.max(1, half / 2));
    for (let k = 0; k < half / 2; k++) {
      this.#cos[k] = Math.cos((-2 * Math.PI * k) / half);
      this.#sin[k] = Math.sin((-2 * Math.PI * k) / half);
    }
    this.#splitCos = new Float64Array(half + 1);
    this.#splitSin = new Float64Array(half + 1);
    for (let k = 0; k <= half; k++) {
      this.#splitCos[k] = Math.cos((-2 * Math.PI * k) / size);
      this.#splitSin[k] = Math.sin((-2 * Math.PI * k) / size);
    }
    this.#re = new Float64Array(half);
    this.#im = new Float64Array(half);
  }

  /**
   * Power spectrum |X[k]|² for k = 0 … size/2 of the real signal `input` (length `size`),
   * written into `out` (length ≥ size/2 + 1).
   */
  powerSpectrum(input: Float64Array, out: Float64Array): void {
    this.#complexHalf(input);
    const half = this.#half;
    const re = this.#re;
    const im = this.#im;
    const wc = this.#splitCos;
    const ws = this.#splitSin;
    // X[0] and X[N/2] from Z[0].
    out[0] = (re[0] + im[0]) * (re[0] + im[0]);
    out[half] = (re[0] - im[0]) * (re[0] - im[0]);
    for (let k = 1; k < half; k++) {
      const zr = re[k];
      const zi = im[k];
      const cr = re[half - k];
      const ci = -im[half - k];
      // E = (Z[k] + conj(Z[N/2-k])) / 2, O = (Z[k] - conj(Z[N/2-k])) / (2i)
      const er = 0.5 * (zr + cr);
      const ei = 0.5 * (zi + ci);
      const or = 0.5 * (zi - ci);
      const oi = -0.5 * (zr - cr);
      // X[k] = E + W^k · O
      const xr = er + wc[k] * or - ws[k] * oi;
      const xi = ei + wc[k] * oi + ws[k] * or;
      out[k] = xr * xr + xi * xi;
    }
  }

  /** Complex FFT of z[n] = x[2n] + i·x[2n+1] into #re/#im. */
  #complexHalf(input: Float64Array): void {
    const half = this.#half;
    const re = this.#re;
    const im = this.#im;
    const rev = this.#bitrev;
    for (let i = 0; i < half; i++) {
      const j = rev[i];
      re[j] = input[2 * i];
      im[j] = input[2 * i + 1];
    }
    const cosT = this.#cos;
    const sinT = this.#sin;
    for (let len = 2; len <= half; len <<= 1) {
      const halfLen = len >> 1;
      const step = half / len;
      for (let start = 0; start < half; start += len) {
        for (let k = 0; k < halfLen; k++) {
          const wr = cosT[k * step];
          const wi = sinT[k * step];
          const a = start + k;
          const b = a + halfLen;
          const br = re[b] * wr - im[b] * wi;
          const bi = re[b] * wi + im[b] * wr;
          re[b] = re[a] - br;
          im[b] = im[a] - bi;
          re[a] += br;
          im[a] += bi;
        }
      }
    }
  }
}
