import { AudioFileError } from "./audio_error.ts";

export interface FfmpegOptions {
  /** The ffmpeg executable; default `FFMPEG` from the environment, else "ffmpeg" on PATH. */
  ffmpegPath?: string;
  /** Output sample rate; default 16000. */
  sampleRate?: number;
  /** Aborting kills ffmpeg (its request is gone or the server is stopping). */
  signal?: AbortSignal;
}

/** What the caller should say about the format when ffmpeg cannot be run. */
export interface FfmpegSource {
  file: string;
  formatName: string;
}

function defaultFfmpeg(): string {
  try {
    return Deno.env.get("FFMPEG") ?? "ffmpeg";
  } catch {
    return "ffmpeg"; // no env permission
  }
}

/** True if the ffmpeg executable can be started. */
export async function ffmpegAvailable(ffmpegPath = defaultFfmpeg()): Promise<boolean> {
  try {
    const { success } = await new Deno.Command(ffmpegPath, {
      args: ["-hide_banner", "-version"],
      stdout: "null",
      stderr: "null",
      stdin: "null",
    }).output();
    return success;
  } catch {
    return false;
  }
}

/**
 * Decodes any format ffmpeg reads into mono float32 at `sampleRate` (ffmpeg downmixes and
 * resamples). Throws AudioFileError "unsupported-format" naming the format when ffmpeg is not
 * installed, "decoder-failed" with ffmpeg's own message when it rejects the file, and
 * "no-samples" when it decodes to nothing.
 */
export async function decodeWithFfmpeg(
  source: FfmpegSource,
  options: FfmpegOptions = {},
): Promise<Float32Array> {
  const ffmpeg = options.ffmpegPath ?? defaultFfmpeg();
  const rate = options.sampleRate ?? 16000;
  let result: Deno.CommandOutput;
  try {
    result = await new Deno.Command(ffmpeg, {
      args: [
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        source.file,
        "-map",
        "0:a:0",
        "-ac",
        "1",
        "-ar",
        String(rate),
        "-f",
        "f32le",
        "-c:a",
        "pcm_f32le",
        "pipe:1",
      ],
      stdin: "null",
      stdout: "piped",
      stderr: "piped",
      signal: options.signal,
    }).output();
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      throw new AudioFileError(
        source.file,
        "unsupported-format",
        `unsupported format ${source.formatName} without ffmpeg ("${ffmpeg}" not found)`,
        `a WAV file, or install ffmpeg to read it`,
      );
    }
    throw err;
  }
  if (!result.success) {
    const msg = new TextDecoder().decode(result.stderr).trim().split("\n").slice(-3).join(" | ");
    throw new AudioFileError(
      source.file,
      "decoder-failed",
      `ffmpeg could not decode it as ${source.formatName} (exit code ${result.code}: ${msg})`,
      "a readable audio file",
    );
  }
  const bytes = result.stdout;
  const n = bytes.byteLength >> 2;
  if (n === 0) {
    throw new AudioFileError(
      source.file,
      "no-samples",
      `ffmpeg decoded no audio samples from this ${source.formatName} file`,
      "at least one sample",
    );
  }
  // stdout is a fresh buffer; view it when aligned, copy otherwise.
  return bytes.byteOffset % 4 === 0
    ? new Float32Array(bytes.buffer, bytes.byteOffset, n)
    : new Float32Array(bytes.slice(0, n * 4).buffer);
}
