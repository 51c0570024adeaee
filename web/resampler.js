// Band-limited resampling to 16 kHz (windowed sinc, 32 input samples each side), streaming:
// push() any number of samples, get the output samples that are complete. Shared by the
// AudioWorklet (microphone) and the page (files at other rates). Downsampling low-passes first,
// so 48 kHz speech does not alias into the band the model hears.
const HALF = 32;
const STEPS = 512; // kernel table resolution per input sample

export class Resampler {
  /** @param {number} inRate @param {number} outRate */
  constructor(inRate, outRate) {
    this.ratio = inRate / outRate;
    this.passthrough = inRate === outRate;
    // Cutoff in cycles per input sample: just under the lower Nyquist of the two rates.
    const cutoff = 0.5 * Math.min(1, outRate / inRate) * 0.92;
    this.table = new Float32Array(HALF * STEPS + 2);
    for (let i = 0; i < this.table.length; i++) {
      const d = i / STEPS;
      const x = 2 * cutoff * d;
      const sinc = d === 0 ? 1 : Math.sin(Math.PI * x) / (Math.PI * x);
      const w = d >= HALF ? 0 : 0.42 + 0.5 * Math.cos(Math.PI * d / HALF) +
        0.08 * Math.cos(2 * Math.PI * d / HALF);
      this.table[i] = 2 * cutoff * sinc * w;
    }
    // HALF zeros ahead, so the first output sits on the first input sample (no delay).
    this.buf = new Float32Array(4096);
    this.len = HALF;
    this.t = HALF;
  }

  #kernel(d) {
    const p = Math.abs(d) * STEPS;
    const i = Math.floor(p);
    const f = p - i;
    return this.table[i] * (1 - f) + this.table[i + 1] * f;
  }

  /** @param {Float32Array} input @returns {Float32Array} */
  push(input) {
    if (this.passthrough) return input.slice();
    if (this.len + input.length > this.buf.length) {
      const bigger = new Float32Array(Math.max(this.buf.length * 2, this.len + input.length));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    this.buf.set(input, this.len);
    this.len += input.length;
    const out = [];
    while (Math.floor(this.t) + HALF < this.len) {
      const base = Math.floor(this.t);
      let acc = 0;
      for (let k = base - HALF + 1; k <= base + HALF; k++) {
        acc += this.buf[k] * this.#kernel(this.t - k);
      }
      out.push(acc);
      this.t += this.ratio;
    }
    // Keep only the history the next outputs need.
    const drop = Math.floor(this.t) - HALF;
    if (drop > 0) {
      this.buf.copyWithin(0, drop, this.len);
      this.len -= drop;
      this.t -= drop;
    }
    return Float32Array.from(out);
  }

  /** The last outputs, as if silence followed. */
  flush() {
    return this.passthrough ? new Float32Array(0) : this.push(new Float32Array(HALF + 1));
  }
}

/** Float samples in [-1, 1] → PCM16 little-endian bytes. */
export function toPcm16(samples) {
  const out = new Int16Array(samples.length);
  for (let i = 0; i < samples.length; i++) {
    const s = Math.max(-1, Math.min(1, samples[i]));
    out[i] = s < 0 ? Math.round(s * 32768) : Math.round(s * 32767);
  }
  return out;
}
