// Audio input: PCM16 decoding, WAV and other files, resampling, NeMo's log-mel features.
export { type AudioErrorCode, AudioFileError } from "./audio_error.ts";
export { PCM16_SCALE, Pcm16Decoder, pcm16ToFloat32 } from "./pcm16.ts";
export { formatTagName, looksLikeWav, parseWav, readWav, type WavAudio } from "./wav.ts";
export { resample, Resampler, type ResamplerOptions } from "./resample.ts";
export { type SniffedFormat, sniffFormat } from "./sniff.ts";
export { decodeWithFfmpeg, ffmpegAvailable, type FfmpegOptions } from "./ffmpeg.ts";
export { type AudioFile, decodeAudio, readAudioFile } from "./read_audio.ts";
export {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  MAX_SAMPLE_RATE,
  MIN_SAMPLE_RATE,
} from "./decode_limits.ts";
export {
  type LogMelConfig,
  logMelConfig,
  PARAKEET_LOG_MEL_CONFIG,
  stftFrameCount,
  validFrameCount,
} from "./log_mel_config.ts";
export { RealFft } from "./fft.ts";
export { hzToMel, type MelFilter, melFilterbank, melToHz } from "./mel_filterbank.ts";
export { paddedWindow } from "./window.ts";
export { type LogMelFrames, StreamingLogMel } from "./streaming_log_mel.ts";
export { copyFeatures, normalizePerFeature, STD_EPSILON } from "./normalize_features.ts";
export { LogMelExtractor, type LogMelFeatures } from "./log_mel.ts";
