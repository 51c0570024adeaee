import { AudioFileError } from "./audio_error.ts";

/**
 * Float audio can hold NaN and infinities (and float64 values past float32's range, infinite once
 * stored): they would reach the features and the model as they are, so the file is refused.
 * Huge finite samples are kept: the features are computed in float64, where they stay finite.
 * One pass, once per decoded file.
 */
export function checkFiniteSamples(samples: Float32Array, file: string): void {
  for (let i = 0; i < samples.length; i++) {
    if (!Number.isFinite(samples[i])) {
      throw new AudioFileError(
        file,
        "non-finite-sample",
        `sample frame ${i} decodes to ${samples[i]}`,
        "finite IEEE float samples",
      );
    }
  }
}
