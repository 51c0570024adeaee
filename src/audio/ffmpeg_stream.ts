/**
 * One ffmpeg process decoding a live stream of compressed audio: bytes in through stdin as they
 * arrive, 16 kHz mono s16le out through stdout as ffmpeg produces it. Held as tightly as an
 * upload's decode: the demuxer is forced to the declared container, only the `pipe` protocol
 * and the speech codecs are allowed, one thread, a CPU-time and an address-space limit set by
 * the shell that execs ffmpeg, and the output counted and cut at the caller's duration limit.
 * Pipes only: nothing is written to disk, so a crashed server leaves no files, and an orphaned
 * ffmpeg sees its stdin close and exits.
 */
import { defaultFfmpeg } from "./ffmpeg.ts";
import { FFMPEG_INPUTS } from "./ffmpeg_input.ts";
import { cpuLimitSignal, limitedCommand, type ProcessLimits } from "./limited_process.ts";

/** The containers a stream may declare. */
export type StreamContainer = "ogg" | "webm" | "mp3";

/** Decoders allowed to run: Opus and Vorbis (Ogg, WebM) and MP3 (ffmpeg's names for them). */
export const STREAM_CODECS = "opus,libopus,vorbis,libvorbis,mp3,mp3float";

/** Bytes of s16le output per second of audio (16 kHz mono). */
export const STREAM_OUTPUT_BYTES_PER_S = 32_000;

export interface FfmpegStreamLimits extends ProcessLimits {
  /** Output past this many seconds kills the process ("too-long"). */
  maxOutputS: number;
}

/** How a stream's decoding ended. */
export type FfmpegStreamEnd =
  /**
   * Its stdin was closed and every sample it decoded was handed over. `warning`: what ffmpeg
   * said of the input's end (a container cut mid-element, a last frame cut short), which costs
   * at most the cut-off tail.
   */
  | { kind: "done"; warning?: string }
  /** ffmpeg rejected the bytes before their end (or exited in error): its own words. */
  | { kind: "failed"; message: string }
  /** The output reached `maxOutputS`; what came before the limit was handed over. */
  | { kind: "too-long" }
  /** `kill()` was called: no more output is handed over. */
  | { kind: "killed" };

export interface FfmpegStreamOptions {
  container: StreamContainer;
  limits: FfmpegStreamLimits;
  /** Decoded s16le bytes, in order (a chunk may end mid-sample). */
  onPcm(bytes: Uint8Array): void;
  /** The executable; default `FFMPEG` from the environment, else "ffmpeg" on PATH. */
  ffmpegPath?: string;
}

/** How long ffmpeg may take to exit once it has closed its output. */
const EXIT_GRACE_MS = 2000;

/** The last bytes of ffmpeg's stderr kept for the error message. */
const STDERR_TAIL = 2048;

/** The ffmpeg arguments decoding `container` from stdin to s16le 16 kHz mono on stdout. */
export function ffmpegStreamArgs(container: StreamContainer, maxOutputS: number): string[] {
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    // A damaged packet ends the decode instead of being skipped over silently.
    "-xerror",
    "-protocol_whitelist",
    "pipe",
    "-f",
    FFMPEG_INPUTS[container].demuxer,
    "-codec_whitelist",
    STREAM_CODECS,
    "-threads",
    "1",
    "-i",
    "pipe:0",
    "-map",
    "0:a:0",
    "-t",
    String(maxOutputS + 1),
    "-ac",
    "1",
    "-ar",
    "16000",
    "-c:a",
    "pcm_s16le",
    "-f",
    "s16le",
    // Each decoded packet goes out at once: a live stream's partials should not wait for a
    // buffer to fill.
    "-flush_packets",
    "1",
    "pipe:1",
  ];
}

type Stop = "too-long" | "killed" | "failed";

/**
 * A running stream decoder. Every path ends the process and reaps it: `end()` then its exit,
 * `kill()`, an error on stderr, the output limit. `ended` resolves once it is reaped and every
 * sample before the end was handed to `onPcm`.
 */
export class FfmpegStream {
  readonly ended: Promise<FfmpegStreamEnd>;
  readonly #child: Deno.ChildProcess;
  readonly #writer: WritableStreamDefaultWriter<Uint8Array>;
  readonly #onPcm: (bytes: Uint8Array) => void;
  readonly #maxBytes: number;
  #stop: Stop | null = null;
  #stopMessage = "";
  #exited = false;
  #pendingBytes = 0;
  #writes: Promise<void> = Promise.resolve();
  #inputClosed = false;
  /** `end()` was called: errors from here on are about how the input ended. */
  #endRequested = false;

  /** Throws only if /bin/sh cannot start; a missing ffmpeg ends as "failed" (the shell's 127). */
  constructor(options: FfmpegStreamOptions) {
    const ffmpeg = options.ffmpegPath ?? defaultFfmpeg();
    const { limits } = options;
    this.#onPcm = options.onPcm;
    this.#maxBytes = Math.floor(limits.maxOutputS * STREAM_OUTPUT_BYTES_PER_S);
    const args = ffmpegStreamArgs(options.container, limits.maxOutputS);
    this.#child = limitedCommand(ffmpeg, args, limits, "piped").spawn();
    this.#writer = this.#child.stdin.getWriter();
    const status = this.#child.status.finally(() => (this.#exited = true));
    this.ended = this.#run(status);
  }

  /** Compressed bytes written to ffmpeg that it has not read yet. */
  get pendingBytes(): number {
    return this.#pendingBytes;
  }

  /** True once the process was told to stop or has stopped. */
  get stopped(): boolean {
    return this.#stop !== null || this.#exited;
  }

  /** Queues bytes for ffmpeg's stdin. */
  write(bytes: Uint8Array): void {
    if (this.#inputClosed || this.stopped) return;
    this.#pendingBytes += bytes.length;
    const copy = bytes.slice();
    this.#writes = this.#writes.then(async () => {
      try {
        await this.#writer.write(copy);
      } catch { /* ffmpeg exited: its end says why */ }
      this.#pendingBytes -= copy.length;
    });
  }

  /** No more input: ffmpeg decodes what it has, flushes and exits. */
  end(): void {
    if (this.#inputClosed) return;
    this.#inputClosed = true;
    this.#endRequested = true;
    this.#writes = this.#writes.then(() => this.#writer.close().catch(() => {}));
  }

  /** Stops at once; nothing more is handed over. */
  kill(): void {
    this.#halt("killed");
  }

  #halt(why: Stop, message = ""): void {
    if (this.#stop !== null || this.#exited) return;
    this.#stop = why;
    this.#stopMessage = message;
    try {
      this.#child.kill("SIGKILL");
    } catch { /* exited meanwhile */ }
  }

  async #run(status: Promise<Deno.CommandStatus>): Promise<FfmpegStreamEnd> {
    const stderr = this.#watchStderr();
    let used = 0;
    let readToEnd = false;
    try {
      for await (const chunk of this.#child.stdout) {
        if (this.#stop === "killed" || this.#stop === "failed") continue;
        const room = this.#maxBytes - used;
        if (chunk.length > room) {
          if (room > 0) this.#onPcm(chunk.subarray(0, room));
          used = this.#maxBytes;
          this.#halt("too-long");
          continue;
        }
        used += chunk.length;
        this.#onPcm(chunk);
      }
      readToEnd = true;
    } catch {
      /* killed mid-read, or onPcm threw: killed below */
    } finally {
      // Output closed on its own: ffmpeg is exiting, and a kill now would make a clean end look
      // like a failure. It gets a moment; past it, or on any other path, it is killed.
      if (readToEnd && this.#stop === null && !this.#exited) {
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([status, new Promise((r) => (timer = setTimeout(r, EXIT_GRACE_MS)))]);
        clearTimeout(timer);
        if (!this.#exited) this.#halt("failed", "ffmpeg did not exit after its output ended");
      }
      // Every path leaves no ffmpeg behind: killed, then reaped (awaited below).
      if (!this.#exited) {
        try {
          this.#child.kill("SIGKILL");
        } catch { /* exited meanwhile */ }
      }
    }
    const result = await status;
    const tail = await stderr;
    this.#inputClosed = true;
    await this.#writer.abort().catch(() => {});
    await this.#writes;
    if (this.#stop === "killed") return { kind: "killed" };
    if (this.#stop === "too-long") return { kind: "too-long" };
    if (this.#stop === "failed") {
      return { kind: "failed", message: lastLines(tail) || this.#stopMessage };
    }
    if (!result.success) {
      const why = cpuLimitSignal(result)
        ? `killed by ${result.signal} (the decode's CPU-time budget)`
        : `exit code ${result.code}`;
      return { kind: "failed", message: lastLines(tail) || why };
    }
    if (tail.trim() === "") return { kind: "done" };
    return this.#endRequested
      ? { kind: "done", warning: lastLines(tail) }
      : { kind: "failed", message: lastLines(tail) };
  }

  /**
   * ffmpeg logs only errors: the first one before the end of the input stops the stream (a live
   * stream has no use for the audio after bytes that do not decode). One after the end is about
   * how the input ended: ffmpeg finishes, and its exit status decides. Returns the tail of
   * everything it said.
   */
  async #watchStderr(): Promise<string> {
    let tail = "";
    const decoder = new TextDecoder();
    try {
      for await (const chunk of this.#child.stderr) {
        tail = (tail + decoder.decode(chunk, { stream: true })).slice(-STDERR_TAIL);
        // A moment for the rest of the message, so the error names the cause, not its half.
        if (this.#stop === null && !this.#endRequested) {
          setTimeout(() => this.#halt("failed", lastLines(tail)), 20);
        }
      }
    } catch { /* killed */ }
    return tail;
  }
}

function lastLines(text: string): string {
  return text.trim().split("\n").slice(-3).map((l) => l.trim()).join(" | ");
}
