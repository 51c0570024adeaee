/**
 * What a decoder may spend on one file, checked before the work it bounds: the sample rate from
 * the header before a resampling filter is designed, the duration from the header (WAV) or the
 * bytes coming out of ffmpeg before samples are kept, the wall clock while ffmpeg runs.
 */
import { AudioFileError } from "./audio_error.ts";

export interface DecodeLimits {
  /** Longest decoded audio, in seconds; longer files are refused ("too-long"). */
  maxDurationS: number;
  /** Wall-clock time allowed to ffmpeg, in milliseconds ("decode-timeout"). */
  timeoutMs: number;
}

/**
 * Sample rates the WAV reader resamples from. Below 1 kHz no speech survives (and a few bytes at
 * 4 Hz declare hours of audio); above 384 kHz no recorder writes, and the resampling filter's
 * length grows with the rate (a 4 MHz header asked for a filter of half a gigabyte).
 */
export const MIN_SAMPLE_RATE = 1000;
export const MAX_SAMPLE_RATE = 384_000;

/** Output samples per second (16 kHz mono float32: 64,000 bytes per second of audio). */
export const OUTPUT_RATE = 16000;

/** The defaults of the server's MAX_UPLOAD_S and UPLOAD_DECODE_TIMEOUT_S. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = {
  maxDurationS: 10_800,
  timeoutMs: 120_000,
};

export function checkSampleRate(rate: number, file: string): void {
  if (rate < MIN_SAMPLE_RATE || rate > MAX_SAMPLE_RATE) {
    throw new AudioFileError(
      file,
      "unsupported-sample-rate",
      `the file declares a sample rate of ${rate} Hz`,
      `a rate from ${MIN_SAMPLE_RATE} to ${MAX_SAMPLE_RATE} Hz`,
    );
  }
}

/** The error for audio longer than the limit; `seconds` is what is known of its length. */
export function tooLong(
  file: string,
  seconds: number | null,
  limits: DecodeLimits,
): AudioFileError {
  const held = seconds === null
    ? "the audio runs past"
    : `the audio lasts ${seconds.toFixed(1)} s, more than`;
  return new AudioFileError(
    file,
    "too-long",
    `${held} the limit of ${limits.maxDurationS} s (MAX_UPLOAD_S)`,
    `at most ${limits.maxDurationS} s of audio`,
  );
}

export function checkDuration(
  frames: number,
  rate: number,
  file: string,
  limits: DecodeLimits,
): void {
  const seconds = frames / rate;
  if (seconds > limits.maxDurationS) throw tooLong(file, seconds, limits);
}
