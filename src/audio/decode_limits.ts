/**
 * What a decoder may spend on one file, checked before the work it bounds: the sample rate from
 * the header before a resampling filter is designed, the duration from the header (WAV) or the
 * bytes coming out of ffmpeg before samples are kept, the wall clock while ffmpeg runs, and the
 * kernel's CPU-time and address-space limits on the ffmpeg process itself.
 */
import { AudioFileError } from "./audio_error.ts";
import { FFMPEG_MEMORY_MIB, type ProcessLimits } from "./limited_process.ts";

export interface DecodeLimits {
  /** Longest decoded audio, in seconds; longer files are refused ("too-long"). */
  maxDurationS: number;
  /** Wall-clock time allowed to ffmpeg, in milliseconds ("decode-timeout"). */
  timeoutMs: number;
  /**
   * CPU seconds ffmpeg may use (RLIMIT_CPU; killed past it: "decode-timeout"). Default: the
   * wall-clock limit's seconds, rounded up (see `ffmpegLimits`).
   */
  cpuSeconds?: number;
  /**
   * ffmpeg's address space in MiB (RLIMIT_AS; an allocation past it fails:
   * "decode-out-of-memory"). Default FFMPEG_MEMORY_MIB.
   */
  memoryMiB?: number;
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

/**
 * The kernel limits of one file's ffmpeg. Its CPU time is held to its wall-clock limit: it
 * decodes with one thread, so it cannot usefully use more, and a process the server no longer
 * watches (the server killed while ffmpeg loops on a file without output) still stops there.
 */
export function ffmpegLimits(limits: DecodeLimits): ProcessLimits {
  return {
    cpuSeconds: limits.cpuSeconds ?? Math.ceil(limits.timeoutMs / 1000),
    memoryMiB: limits.memoryMiB ?? FFMPEG_MEMORY_MIB,
  };
}

/** An upload's limits from the server's MAX_UPLOAD_S and UPLOAD_DECODE_TIMEOUT_S. */
export function uploadDecodeLimits(maxUploadS: number, decodeTimeoutS: number): DecodeLimits {
  const limits = { maxDurationS: maxUploadS, timeoutMs: decodeTimeoutS * 1000 };
  return { ...limits, ...ffmpegLimits(limits) };
}

/** The defaults of the server's MAX_UPLOAD_S and UPLOAD_DECODE_TIMEOUT_S. */
export const DEFAULT_DECODE_LIMITS: DecodeLimits = uploadDecodeLimits(10_800, 120);

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

/**
 * The duration a FLAC file's STREAMINFO declares (total samples / rate), or null when it does
 * not say (0 total samples means "unknown"). A cheap check before ffmpeg runs; the count of
 * ffmpeg's output bytes still catches a header that understates.
 */
export function flacDeclaredSeconds(bytes: Uint8Array): number | null {
  // "fLaC", then the STREAMINFO block (type 0) of 34 bytes: rate at bit 80, total at bit 108.
  if (bytes.length < 26 || (bytes[4] & 0x7f) !== 0) return null;
  const rate = (bytes[18] << 12) | (bytes[19] << 4) | (bytes[20] >> 4);
  const total = (bytes[21] & 0x0f) * 2 ** 32 +
      ((bytes[22] << 24) | (bytes[23] << 16) | (bytes[24] << 8) | bytes[25]) >>> 0;
  return rate > 0 && total > 0 ? total / rate : null;
}
