import { type LogMelConfig, logMelConfig, stftFrameCount } from "./log_mel_config.ts";
import { copyFeatures, normalizePerFeature } from "./normalize_features.ts";
import { type LogMelFrames, StreamingLogMel } from "./streaming_log_mel.ts";

/** Features of one clip, feature-major [nMels, frames] as the encoder takes them. */
export interface LogMelFeatures {
  features: Float32Array;
  nMels: number;
  /** Columns in `features`: floor(n / hop) + 1, as torch.stft(center=True) yields. */
  frames: number;
  /** Frames NeMo counts as valid (the encoder `length` input); later columns are 0. */
  validFrames: number;
}

/**
 * NeMo's `AudioToMelSpectrogramPreprocessor` (FilterbankFeatures) at inference (dither 0,
 * pad_to 0), with Parakeet-TDT-0.6B-v3's settings unless overridden.
 *
 * The offline path is the streaming path run over the whole clip: raw frames from
 * `StreamingLogMel`, then normalisation of the valid frames — so the two agree bit for bit.
 */
export class LogMelExtractor {
  readonly config: LogMelConfig;

  constructor(config: Partial<LogMelConfig> = {}) {
    this.config = logMelConfig(config);
  }

  /** A fresh incremental extractor with this config. */
  createStream(initialFrameCapacity?: number): StreamingLogMel {
    return new StreamingLogMel(this.config, initialFrameCapacity);
  }

  /** Features of a whole clip of float samples at config.sampleRate. */
  extract(samples: Float32Array): LogMelFeatures {
    const stream = this.createStream(stftFrameCount(samples.length, this.config));
    stream.push(samples);
    stream.flush();
    return this.featuresOf(stream, 0, stream.validFrameCount, stream.frameCount);
  }

  /**
   * Normalised (per config) features of frames [frameStart, frameEnd) of `raw` in a new
   * [nMels, columns] array; columns past frameEnd − frameStart are 0.
   */
  featuresOf(
    raw: LogMelFrames,
    frameStart: number,
    frameEnd: number,
    columns: number = frameEnd - frameStart,
  ): LogMelFeatures {
    const features = new Float32Array(raw.nMels * columns);
    if (this.config.normalize === "per_feature") {
      normalizePerFeature(raw, frameStart, frameEnd, features, columns);
    } else {
      copyFeatures(raw, frameStart, frameEnd, features, columns);
    }
    return { features, nMels: raw.nMels, frames: columns, validFrames: frameEnd - frameStart };
  }
}
