/**
 * The preprocessor settings of NeMo's `AudioToMelSpectrogramPreprocessor`. Defaults are
 * Parakeet-TDT-0.6B-v3's; another model's config overrides any of them.
 */
export interface LogMelConfig {
  /** Input sample rate in Hz. */
  sampleRate: number;
  /** Analysis window length in samples (NeMo `window_size` × sample rate). */
  windowLength: number;
  /** Hop between frames in samples (NeMo `window_stride` × sample rate). */
  hopLength: number;
  /** FFT size (power of two ≥ windowLength). */
  nFft: number;
  /** Number of mel bands (NeMo `features`). */
  nMels: number;
  /** Lowest / highest filterbank frequency in Hz; `fmax` null means sampleRate / 2. */
  fmin: number;
  fmax: number | null;
  /** Window function, symmetric as NeMo builds it (`periodic=False`). */
  window: "hann" | "hamming" | "blackman" | "bartlett" | "none";
  /** Pre-emphasis coefficient; null disables it. */
  preemph: number | null;
  /** Exponent applied to the STFT magnitude (2 = power). */
  magPower: number;
  /** Mel filter normalisation: librosa's "slaney" (area) or none. */
  melNorm: "slaney" | null;
  /** Zero guard of the log: log(x + v) for "add", log(max(x, v)) for "clamp". */
  logZeroGuardType: "add" | "clamp";
  logZeroGuardValue: number;
  /** Feature normalisation over the valid frames. */
  normalize: "per_feature" | "none";
}

export const PARAKEET_LOG_MEL_CONFIG: Readonly<LogMelConfig> = Object.freeze({
  sampleRate: 16000,
  windowLength: 400,
  hopLength: 160,
  nFft: 512,
  nMels: 128,
  fmin: 0,
  fmax: null,
  window: "hann",
  preemph: 0.97,
  magPower: 2,
  melNorm: "slaney",
  logZeroGuardType: "add",
  logZeroGuardValue: 2 ** -24,
  normalize: "per_feature",
});

/** Parakeet's config with `overrides` applied, checked for consistency. */
export function logMelConfig(overrides: Partial<LogMelConfig> = {}): LogMelConfig {
  const cfg: LogMelConfig = { ...PARAKEET_LOG_MEL_CONFIG, ...overrides };
  const positiveInt = (name: keyof LogMelConfig) => {
    const v = cfg[name];
    if (typeof v !== "number" || !Number.isInteger(v) || v <= 0) {
      throw new RangeError(`Invalid log-mel config: ${name} must be a positive integer, got ${v}`);
    }
  };
  positiveInt("sampleRate");
  positiveInt("windowLength");
  positiveInt("hopLength");
  positiveInt("nFft");
  positiveInt("nMels");
  if ((cfg.nFft & (cfg.nFft - 1)) !== 0 || cfg.nFft < cfg.windowLength) {
    throw new RangeError(
      `Invalid log-mel config: nFft must be a power of two ≥ windowLength (${cfg.windowLength}), got ${cfg.nFft}`,
    );
  }
  const fmax = cfg.fmax ?? cfg.sampleRate / 2;
  if (!(cfg.fmin >= 0 && cfg.fmin < fmax && fmax <= cfg.sampleRate / 2)) {
    throw new RangeError(
      `Invalid log-mel config: expected 0 ≤ fmin < fmax ≤ sampleRate/2, got fmin ${cfg.fmin}, fmax ${fmax}`,
    );
  }
  return cfg;
}

/**
 * Number of valid feature frames for `numSamples` samples: NeMo 3.0's `get_seq_len` with
 * center=True, `floor((n + 2·(nFft/2) − nFft) / hop)`, i.e. floor(n / hop) for an even nFft.
 * The STFT itself yields one more frame, which NeMo masks to zero.
 */
export function validFrameCount(numSamples: number, cfg: LogMelConfig): number {
  if (numSamples <= 0) return 0;
  const pad = 2 * Math.floor(cfg.nFft / 2);
  return Math.floor((numSamples + pad - cfg.nFft) / cfg.hopLength);
}

/** Number of STFT frames torch.stft(center=True) produces for `numSamples` samples. */
export function stftFrameCount(numSamples: number, cfg: LogMelConfig): number {
  return Math.floor(numSamples / cfg.hopLength) + 1;
}
