import { RealFft } from "./fft.ts";
import {
  type LogMelConfig,
  PARAKEET_LOG_MEL_CONFIG,
  stftFrameCount,
  validFrameCount,
} from "./log_mel_config.ts";
import { type MelFilter, melFilterbank } from "./mel_filterbank.ts";
import { paddedWindow } from "./window.ts";

/**
 * A run of raw (un-normalised) log-mel frames, frame-major: frame `i` occupies
 * `data[(i - firstFrame) · nMels …]` for firstFrame ≤ i < frameCount.
 */
export interface LogMelFrames {
  readonly nMels: number;
  readonly firstFrame: number;
  readonly frameCount: number;
  readonly data: Float32Array;
}

/**
 * Raw log-mel frames (pre-emphasis → STFT → power → mel → log) of a growing stream, each frame
 * computed exactly once. Frame i is centred on sample i·hop and spans samples
 * [i·hop − nFft/2, i·hop + nFft/2) of the pre-emphasised signal, zeros before the start
 * (torch.stft center=True, pad_mode "constant"); it is computed as soon as that span has
 * arrived. `flush()` ends the stream and computes the remaining frames with zeros after the
 * end, giving floor(n / hop) + 1 frames in all, of which floor(n / hop) are valid (NeMo 3.0's
 * `get_seq_len`); the last is the one NeMo masks.
 *
 * Pushing the same audio in any slicing yields bit-identical frames.
 */
export class StreamingLogMel implements LogMelFrames {
  readonly config: LogMelConfig;
  readonly nMels: number;
  readonly #hop: number;
  readonly #nFft: number;
  readonly #halfFft: number;
  readonly #winStart: number;
  readonly #winEnd: number;
  readonly #window: Float64Array;
  readonly #filters: MelFilter[];
  readonly #fft: RealFft;
  readonly #frameIn: Float64Array;
  readonly #power: Float64Array;

  /** Pre-emphasised samples; #samples[0] is absolute sample #sampleBase. */
  #samples: Float64Array;
  #sampleBase = 0;
  #received = 0;
  #lastInput = 0;

  /** Raw frames; #frames[0] is absolute frame #frameBase (≤ #firstFrame). */
  #frames: Float32Array;
  #frameBase = 0;
  #firstFrame = 0;
  #frameCount = 0;
  #flushed = false;

  constructor(config: LogMelConfig = PARAKEET_LOG_MEL_CONFIG, initialFrameCapacity = 1024) {
    this.config = config;
    this.nMels = config.nMels;
    this.#hop = config.hopLength;
    this.#nFft = config.nFft;
    this.#halfFft = Math.floor(config.nFft / 2);
    this.#window = paddedWindow(config);
    this.#winStart = Math.floor((config.nFft - config.windowLength) / 2);
    this.#winEnd = this.#winStart + config.windowLength;
    this.#filters = melFilterbank(config);
    this.#fft = new RealFft(config.nFft);
    this.#frameIn = new Float64Array(config.nFft);
    this.#power = new Float64Array(this.#fft.bins);
    this.#samples = new Float64Array(Math.max(4 * config.nFft, 16384));
    this.#frames = new Float32Array(Math.max(1, initialFrameCapacity) * config.nMels);
  }

  /** Samples pushed so far. */
  get samplesReceived(): number {
    return this.#received;
  }

  /** Frames computed so far (the absolute index of the next frame). */
  get frameCount(): number {
    return this.#frameCount;
  }

  /** Oldest frame still held (frames before it were released by `discardBefore`). */
  get firstFrame(): number {
    return this.#firstFrame;
  }

  /**
   * Frames that NeMo would count as valid for the audio so far: every computed frame before
   * `flush()`, floor(n / hop) after it.
   */
  get validFrameCount(): number {
    return this.#flushed ? validFrameCount(this.#received, this.config) : this.#frameCount;
  }

  get flushed(): boolean {
    return this.#flushed;
  }

  /** Held frames [firstFrame, frameCount), frame-major. A view: valid until the next call. */
  get data(): Float32Array {
    const off = (this.#firstFrame - this.#frameBase) * this.nMels;
    return this.#frames.subarray(off, off + (this.#frameCount - this.#firstFrame) * this.nMels);
  }

  /** The nMels values of frame `i` (a view). */
  frame(i: number): Float32Array {
    if (!Number.isInteger(i) || i < this.#firstFrame || i >= this.#frameCount) {
      throw new RangeError(
        `Cannot read log-mel frame ${i}: frames ${this.#firstFrame}…${
          this.#frameCount - 1
        } are held`,
      );
    }
    const off = (i - this.#frameBase) * this.nMels;
    return this.#frames.subarray(off, off + this.nMels);
  }

  /** Appends audio (float samples at config.sampleRate); returns how many frames it completed. */
  push(samples: Float32Array): number {
    if (this.#flushed) {
      throw new Error("Cannot push audio to a flushed log-mel stream: call reset() first");
    }
    if (samples.length === 0) return 0;
    this.#ensureSampleRoom(samples.length);
    const buf = this.#samples;
    let w = this.#received - this.#sampleBase;
    const p = this.config.preemph;
    if (p === null) {
      for (let i = 0; i < samples.length; i++) buf[w++] = samples[i];
    } else {
      let prev = this.#received === 0 ? 0 : this.#lastInput;
      // y[0] = x[0] (prev = 0 for the very first sample), y[n] = x[n] − p·x[n−1].
      for (let i = 0; i < samples.length; i++) {
        const x = samples[i];
        buf[w++] = x - p * prev;
        prev = x;
      }
    }
    this.#lastInput = samples[samples.length - 1];
    this.#received += samples.length;
    const before = this.#frameCount;
    while (this.#frameCount * this.#hop + this.#nFft - this.#halfFft <= this.#received) {
      this.#computeFrame(this.#frameCount);
    }
    return this.#frameCount - before;
  }

  /** Ends the stream: computes the remaining frames with zeros after the last sample. */
  flush(): number {
    if (this.#flushed) return 0;
    this.#flushed = true;
    const total = stftFrameCount(this.#received, this.config);
    const before = this.#frameCount;
    while (this.#frameCount < total) this.#computeFrame(this.#frameCount);
    return this.#frameCount - before;
  }

  /** Releases frames before `frame` (bounded memory for long streams). */
  discardBefore(frame: number): void {
    this.#firstFrame = Math.min(Math.max(this.#firstFrame, Math.floor(frame)), this.#frameCount);
  }

  /** Forgets all audio and frames: ready for a new utterance. Keeps the buffers. */
  reset(): void {
    this.#sampleBase = 0;
    this.#received = 0;
    this.#lastInput = 0;
    this.#frameBase = 0;
    this.#firstFrame = 0;
    this.#frameCount = 0;
    this.#flushed = false;
  }

  #ensureSampleRoom(extra: number): void {
    // Samples before the span of the next frame are no longer needed.
    const keepFrom = Math.max(0, this.#frameCount * this.#hop - this.#halfFft);
    const held = this.#received - this.#sampleBase;
    if (held + extra <= this.#samples.length) return;
    const drop = Math.max(0, keepFrom - this.#sampleBase);
    const keep = held - drop;
    if (keep + extra <= this.#samples.length) {
      this.#samples.copyWithin(0, drop, held);
    } else {
      const bigger = new Float64Array(Math.max(2 * this.#samples.length, keep + extra));
      bigger.set(this.#samples.subarray(drop, held));
      this.#samples = bigger;
    }
    this.#sampleBase += drop;
  }

  #ensureFrameRoom(): void {
    const nMels = this.nMels;
    const used = this.#frameCount - this.#frameBase;
    if ((used + 1) * nMels <= this.#frames.length) return;
    const drop = this.#firstFrame - this.#frameBase;
    const keep = used - drop;
    if ((keep + 1) * nMels <= this.#frames.length / 2) {
      this.#frames.copyWithin(0, drop * nMels, used * nMels);
    } else {
      const bigger = new Float32Array(Math.max(2 * this.#frames.length, (keep + 1) * nMels));
      bigger.set(this.#frames.subarray(drop * nMels, used * nMels));
      this.#frames = bigger;
    }
    this.#frameBase = this.#firstFrame;
  }

  #computeFrame(i: number): void {
    const input = this.#frameIn;
    const win = this.#window;
    // Absolute sample index of input[0].
    const origin = i * this.#hop - this.#halfFft;
    const lo = Math.max(this.#winStart, -origin);
    const hi = Math.min(this.#winEnd, this.#received - origin);
    input.fill(0, this.#winStart, this.#winEnd);
    const buf = this.#samples;
    const shift = origin - this.#sampleBase;
    for (let j = lo; j < hi; j++) input[j] = buf[shift + j] * win[j];
    const power = this.#power;
    this.#fft.powerSpectrum(input, power);
    const mag = this.config.magPower;
    if (mag !== 2) {
      for (let k = 0; k < power.length; k++) power[k] = Math.pow(Math.sqrt(power[k]), mag);
    }
    this.#ensureFrameRoom();
    const out = this.#frames;
    const base = (i - this.#frameBase) * this.nMels;
    const guard = this.config.logZeroGuardValue;
    const add = this.config.logZeroGuardType === "add";
    const filters = this.#filters;
    for (let m = 0; m < filters.length; m++) {
      const { start, weights } = filters[m];
      let acc = 0;
      for (let k = 0; k < weights.length; k++) acc += weights[k] * power[start + k];
      out[base + m] = add ? Math.log(acc + guard) : Math.log(Math.max(acc, guard));
    }
    this.#frameCount = i + 1;
  }
}
