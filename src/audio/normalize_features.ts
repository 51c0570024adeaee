import type { LogMelFrames } from "./streaming_log_mel.ts";

/** NeMo's CONSTANT added to the standard deviation so it is never zero. */
export const STD_EPSILON = 1e-5;

function checkRange(
  raw: LogMelFrames,
  frameStart: number,
  frameEnd: number,
  out: Float32Array,
  outFrames: number,
): void {
  if (
    !Number.isInteger(frameStart) || !Number.isInteger(frameEnd) || frameStart > frameEnd ||
    frameStart < raw.firstFrame || frameEnd > raw.frameCount
  ) {
    throw new RangeError(
      `Cannot write features of frames [${frameStart}, ${frameEnd}): frames ${raw.firstFrame}…${
        raw.frameCount - 1
      } are held`,
    );
  }
  if (!Number.isInteger(outFrames) || outFrames < frameEnd - frameStart) {
    throw new RangeError(
      `Cannot write ${frameEnd - frameStart} feature frames into ${outFrames} output columns`,
    );
  }
  if (out.length < raw.nMels * outFrames) {
    throw new RangeError(
      `Cannot write features: output holds ${out.length} values, expected at least ${raw.nMels} × ${outFrames}`,
    );
  }
}

/**
 * NeMo's `per_feature` normalisation of frames [frameStart, frameEnd) of `raw`, written
 * feature-major into `out` as [nMels, outFrames] (the encoder's [128, T] layout for one batch
 * row): for each mel band, subtract the mean over the frames and divide by (unbiased standard
 * deviation + 1e-5). Columns from frameEnd − frameStart to outFrames are set to 0 (NeMo's
 * masking / batch padding). With a single frame the std is taken as 0, as NeMo does.
 * Statistics are computed in float64.
 */
export function normalizePerFeature(
  raw: LogMelFrames,
  frameStart: number,
  frameEnd: number,
  out: Float32Array,
  outFrames: number = frameEnd - frameStart,
): void {
  checkRange(raw, frameStart, frameEnd, out, outFrames);
  const nMels = raw.nMels;
  const n = frameEnd - frameStart;
  const data = raw.data;
  const base = (frameStart - raw.firstFrame) * nMels;
  const mean = new Float64Array(nMels);
  const sq = new Float64Array(nMels);
  for (let t = 0; t < n; t++) {
    const off = base + t * nMels;
    for (let m = 0; m < nMels; m++) mean[m] += data[off + m];
  }
  for (let m = 0; m < nMels; m++) mean[m] /= n;
  for (let t = 0; t < n; t++) {
    const off = base + t * nMels;
    for (let m = 0; m < nMels; m++) {
      const d = data[off + m] - mean[m];
      sq[m] += d * d;
    }
  }
  for (let m = 0; m < nMels; m++) {
    const std = n > 1 ? Math.sqrt(sq[m] / (n - 1)) : 0;
    const denom = std + STD_EPSILON;
    const row = m * outFrames;
    const mu = mean[m];
    let off = base + m;
    for (let t = 0; t < n; t++, off += nMels) out[row + t] = (data[off] - mu) / denom;
    out.fill(0, row + n, row + outFrames);
  }
}

/**
 * Frames [frameStart, frameEnd) of `raw` copied feature-major into `out` as [nMels, outFrames]
 * without normalisation (NeMo `normalize: none`); extra columns are 0.
 */
export function copyFeatures(
  raw: LogMelFrames,
  frameStart: number,
  frameEnd: number,
  out: Float32Array,
  outFrames: number = frameEnd - frameStart,
): void {
  checkRange(raw, frameStart, frameEnd, out, outFrames);
  const nMels = raw.nMels;
  const n = frameEnd - frameStart;
  const data = raw.data;
  const base = (frameStart - raw.firstFrame) * nMels;
  for (let m = 0; m < nMels; m++) {
    const row = m * outFrames;
    let off = base + m;
    for (let t = 0; t < n; t++, off += nMels) out[row + t] = data[off];
    out.fill(0, row + n, row + outFrames);
  }
}
