import type { LogMelConfig } from "./log_mel_config.ts";

const f32 = Math.fround;

/**
 * The analysis window as torch builds it with `periodic=False` (symmetric) in float32, then
 * zero-padded and centred into nFft samples as torch.stft does when win_length < n_fft.
 *
 * torch computes hann/hamming as `alpha − beta·cos(i · f32(2π/(N−1)))` step by step in float32
 * (ATen `hamming_window`); each step is rounded here the same way. The float32 window differs
 * from the rounded exact formula in most taps, and that difference is visible in quiet mel
 * bands next to loud ones, so it is reproduced rather than computed "more accurately". (torch's
 * vectorised float32 cos is within 1 ulp; a handful of taps may still differ by 1 ulp.)
 */
export function paddedWindow(cfg: LogMelConfig): Float64Array {
  const n = cfg.windowLength;
  const out = new Float64Array(cfg.nFft);
  const left = Math.floor((cfg.nFft - n) / 2);
  const denom = n - 1;
  const step = denom > 0 ? f32((2 * Math.PI) / denom) : 0;
  for (let i = 0; i < n; i++) {
    const x = f32(i * step);
    let w: number;
    switch (cfg.window) {
      case "hann":
        w = f32(0.5 + f32(-0.5 * f32(Math.cos(x))));
        break;
      case "hamming":
        w = f32(0.54 + f32(-0.46 * f32(Math.cos(x))));
        break;
      case "blackman":
        // ATen: 0.42 − 0.5·cos(x) + 0.08·cos(2x), x = i · 2π/(N−1) (float32 steps).
        w = f32(f32(0.42 - f32(0.5 * f32(Math.cos(x)))) + f32(0.08 * f32(Math.cos(f32(2 * x)))));
        break;
      case "bartlett":
        w = denom > 0 ? 1 - Math.abs((2 * i) / denom - 1) : 1;
        break;
      case "none":
        // NeMo passes window=None to torch.stft: a rectangular window of ones over win_length.
        w = 1;
        break;
    }
    out[left + i] = f32(w);
  }
  return out;
}
