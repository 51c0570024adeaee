import type { LogMelConfig } from "./log_mel_config.ts";

/** One triangular mel filter, stored sparsely: weights for FFT bins [start, start + length). */
export interface MelFilter {
  start: number;
  weights: Float64Array;
}

const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/** librosa's `hz_to_mel` with htk=False (the Slaney scale). */
export function hzToMel(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

/** librosa's `mel_to_hz` with htk=False. */
export function melToHz(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/**
 * librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm="slaney"), computed in
 * float64 and rounded to float32 as librosa's default dtype and NeMo's buffer store it.
 */
export function melFilterbank(cfg: LogMelConfig): MelFilter[] {
  const nBins = cfg.nFft / 2 + 1;
  const fmax = cfg.fmax ?? cfg.sampleRate / 2;
  const fftFreqs = new Float64Array(nBins);
  for (let k = 0; k < nBins; k++) fftFreqs[k] = (k * (cfg.sampleRate / 2)) / (nBins - 1);
  const melMin = hzToMel(cfg.fmin);
  const melMax = hzToMel(fmax);
  const melF = new Float64Array(cfg.nMels + 2);
  for (let i = 0; i < cfg.nMels + 2; i++) {
    melF[i] = melToHz(melMin + ((melMax - melMin) * i) / (cfg.nMels + 1));
  }
  const filters: MelFilter[] = [];
  const dense = new Float64Array(nBins);
  for (let m = 0; m < cfg.nMels; m++) {
    const fdiffLo = melF[m + 1] - melF[m];
    const fdiffHi = melF[m + 2] - melF[m + 1];
    const enorm = cfg.melNorm === "slaney" ? 2 / (melF[m + 2] - melF[m]) : 1;
    let first = -1;
    let last = -1;
    for (let k = 0; k < nBins; k++) {
      const lower = -(melF[m] - fftFreqs[k]) / fdiffLo;
      const upper = (melF[m + 2] - fftFreqs[k]) / fdiffHi;
      // librosa stores the triangle in float32, then scales it by the float64 norm in place.
      const tri = Math.fround(Math.max(0, Math.min(lower, upper)));
      const w = cfg.melNorm === "slaney" ? Math.fround(tri * enorm) : tri;
      dense[k] = w;
      if (w !== 0) {
        if (first < 0) first = k;
        last = k;
      }
    }
    if (first < 0) {
      filters.push({ start: 0, weights: new Float64Array(0) });
    } else {
      filters.push({ start: first, weights: dense.slice(first, last + 1) });
    }
  }
  return filters;
}
