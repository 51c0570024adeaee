/**
 * One ffmpeg run over one uploaded file's bytes, on a short leash: the demuxer and protocol are
 * fixed (ffmpeg_input.ts), the kernel holds the process to a CPU-time and an address-space limit
 * (limited_process.ts), the output is counted as it arrives and the process is killed (SIGKILL,
 * then reaped) as soon as it passes the duration limit, at the wall-clock limit, or when the
 * caller's signal aborts (client gone, server draining). The samples are written into one
 * resizable buffer, so a long file is held once and never copied.
 */
import { AudioFileError } from "./audio_error.ts";
import { checkFiniteSamples } from "./finite_samples.ts";
import { withDecodeDir } from "./decode_temp.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  ffmpegLimits,
  OUTPUT_RATE,
  tooLong,
} from "./decode_limits.ts";
import { ffmpegArgs, type FfmpegInputSpec } from "./ffmpeg_input.ts";
import {
  cpuLimitSignal,
  executableMissing,
  limitedCommand,
  outOfMemory,
} from "./limited_process.ts";

export interface FfmpegOptions {
  /** The ffmpeg executable; default `FFMPEG` from the environment, else "ffmpeg" on PATH. */
  ffmpegPath?: string;
  limits?: DecodeLimits;
  /** Aborting kills ffmpeg and rejects with the signal's reason. */
  signal?: AbortSignal;
  /** Root of the private folders for inputs that need seeking (tests point it elsewhere). */
  tempRoot?: string;
}

/** What the caller should say about the file in messages. */
export interface FfmpegSource {
  /** The name in messages ("upload" for HTTP uploads, the path for the CLI). */
  file: string;
  formatName: string;
  spec: FfmpegInputSpec;
  bytes: Uint8Array;
}

/** The last bytes of ffmpeg's stderr kept for the error message. */
const STDERR_TAIL = 4096;

/** `FFMPEG` from the environment, else "ffmpeg" on PATH. */
export function defaultFfmpeg(): string {
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
 * Decodes `source.bytes` into mono float32 at 16 kHz. Throws AudioFileError "unsupported-format"
 * when ffmpeg is not installed, "decoder-failed" with ffmpeg's own message when it rejects the
 * file, "no-samples" when it decodes to nothing, "too-long" past `limits.maxDurationS`,
 * "decode-timeout" past `limits.timeoutMs` or its CPU-time limit, "decode-out-of-memory" when an
 * allocation fails at its address-space limit; the signal's reason when aborted.
 */
export async function decodeWithFfmpeg(
  source: FfmpegSource,
  options: FfmpegOptions = {},
): Promise<Float32Array> {
  options.signal?.throwIfAborted();
  if (!source.spec.seeks) return await runFfmpeg(source, { pipe: true }, options);
  return await withDecodeDir(async (dir) => {
    // A fixed name: the client's file name never becomes part of a path.
    const path = `${dir}/input`;
    await Deno.writeFile(path, source.bytes, { mode: 0o600 });
    return await runFfmpeg(source, { path }, options);
  }, options.tempRoot);
}

type StopReason = "timeout" | "abort" | "too-long";

async function runFfmpeg(
  source: FfmpegSource,
  input: { pipe: true } | { path: string },
  options: FfmpegOptions,
): Promise<Float32Array> {
  const ffmpeg = options.ffmpegPath ?? defaultFfmpeg();
  const limits = options.limits ?? DEFAULT_DECODE_LIMITS;
  const maxBytes = Math.floor(limits.maxDurationS * OUTPUT_RATE) * 4;
  // One output sample past the limit is how "longer than allowed" shows; -t stops ffmpeg soon
  // after in case the bytes are not read fast enough to kill it first.
  const args = ffmpegArgs(source.spec, input, OUTPUT_RATE, limits.maxDurationS + 1);
  const stdin = "pipe" in input ? "piped" : "null";
  const child = limitedCommand(ffmpeg, args, ffmpegLimits(limits), stdin).spawn();

  let stop: StopReason | null = null;
  let exited = false;
  const status = child.status.finally(() => (exited = true));
  const kill = (why: StopReason) => {
    if (stop !== null || exited) return;
    stop = why;
    try {
      child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  };
  const timer = setTimeout(() => kill("timeout"), limits.timeoutMs);
  const onAbort = () => kill("abort");
  options.signal?.addEventListener("abort", onAbort, { once: true });

  const stderr = readTail(child.stderr, STDERR_TAIL);
  const feeding = "pipe" in input ? feed(child.stdin, source.bytes) : Promise.resolve();
  const out = new ArrayBuffer(0, { maxByteLength: maxBytes + 4 });
  let used = 0;
  try {
    for await (const chunk of child.stdout) {
      if (used + chunk.length > maxBytes) {
        kill("too-long");
        break;
      }
      if (used + chunk.length > out.byteLength) {
        out.resize(Math.min(maxBytes + 4, Math.max(used + chunk.length, out.byteLength * 2)));
      }
      new Uint8Array(out, used, chunk.length).set(chunk);
      used += chunk.length;
    }
  } finally {
    clearTimeout(timer);
    options.signal?.removeEventListener("abort", onAbort);
    // Every path, a thrown one included, leaves no ffmpeg behind: killed if running, reaped.
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch { /* exited meanwhile */ }
    }
    await status;
    await feeding;
  }
  const result = await status;
  const message = await stderr;
  if (stop === "abort") throw options.signal!.reason;
  if (stop === "timeout") {
    throw new AudioFileError(
      source.file,
      "decode-timeout",
      `ffmpeg was still decoding this ${source.formatName} file after ${
        limits.timeoutMs / 1000
      } s (UPLOAD_DECODE_TIMEOUT_S)`,
      "a file that decodes within the limit",
    );
  }
  if (stop === "too-long") throw tooLong(source.file, null, limits);
  if (!result.success) throw ffmpegFailure(source, ffmpeg, limits, result, message);
  const n = used >> 2;
  if (n === 0) {
    throw new AudioFileError(
      source.file,
      "no-samples",
      `ffmpeg decoded no audio samples from this ${source.formatName} file`,
      "at least one sample",
    );
  }
  out.resize(n * 4);
  const samples = new Float32Array(out, 0, n);
  // ffmpeg hands float samples through as they are (float PCM in Matroska, MP4, AIFF-C, CAF).
  checkFiniteSamples(samples, source.file);
  return samples;
}

/** Why ffmpeg exited unsuccessfully on its own (none of this module's kills). */
function ffmpegFailure(
  source: FfmpegSource,
  ffmpeg: string,
  limits: DecodeLimits,
  status: Deno.CommandStatus,
  stderr: string,
): AudioFileError {
  const { file, formatName } = source;
  if (executableMissing(status, stderr)) {
    return new AudioFileError(
      file,
      "unsupported-format",
      `unsupported format ${formatName} without ffmpeg ("${ffmpeg}" not found)`,
      `a WAV file, or install ffmpeg to read it`,
    );
  }
  const { cpuSeconds, memoryMiB } = ffmpegLimits(limits);
  // Killed, and not by us (our kills set `stop`): the kernel, at the CPU-time limit.
  if (cpuLimitSignal(status)) {
    return new AudioFileError(
      file,
      "decode-timeout",
      `ffmpeg was killed (${status.signal}) decoding this ${formatName} file: it used up its CPU-time limit of ${cpuSeconds} s (UPLOAD_DECODE_TIMEOUT_S)`,
      "a file that decodes within the limit",
    );
  }
  const said = stderr.trim().split("\n").slice(-3).join(" | ");
  if (outOfMemory(stderr)) {
    return new AudioFileError(
      file,
      "decode-out-of-memory",
      `ffmpeg ran out of memory decoding this ${formatName} file, held to ${memoryMiB} MiB of address space (${said})`,
      "a file that decodes within the limit",
    );
  }
  const how = status.signal === null ? `exit code ${status.code}` : `killed by ${status.signal}`;
  return new AudioFileError(
    file,
    "decoder-failed",
    `ffmpeg could not decode it as ${formatName} (${how}: ${said})`,
    "a readable audio file",
  );
}

/** Writes the bytes to ffmpeg's stdin; ffmpeg stopping early (EPIPE) is not an error here. */
async function feed(stdin: WritableStream<Uint8Array>, bytes: Uint8Array): Promise<void> {
  const writer = stdin.getWriter();
  try {
    await writer.write(bytes);
    await writer.close();
  } catch {
    await writer.abort().catch(() => {});
  }
}

/** Reads a stream to its end, keeping only its last `keep` bytes as text. */
async function readTail(stream: ReadableStream<Uint8Array>, keep: number): Promise<string> {
  let tail = new Uint8Array(0);
  try {
    for await (const chunk of stream) {
      const joined = new Uint8Array(tail.length + chunk.length);
      joined.set(tail);
      joined.set(chunk, tail.length);
      tail = joined.length > keep ? joined.slice(joined.length - keep) : joined;
    }
  } catch { /* the process was killed */ }
  return new TextDecoder().decode(tail);
}
