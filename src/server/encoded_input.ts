/**
 * The compressed-audio stage of a `/ws` stream declared with `?encoding=ogg|webm|mp3`: the
 * client's audio frames go to one ffmpeg process (src/audio/ffmpeg_stream.ts) and its 16 kHz
 * PCM goes on to the stream session, in order with the client's control messages.
 *
 * An utterance is one container stream: EOS closes ffmpeg's stdin, the rest of its output is
 * handed over, and only then does the session get the EOS (so the final holds every sample).
 * Audio sent meanwhile is held and starts the next utterance's ffmpeg, which must begin with
 * the container's header again. RESET kills the process and drops what was held. The process
 * is killed on every other way out: an error, the output limit, the connection's end.
 */
import {
  FfmpegStream,
  type FfmpegStreamEnd,
  STREAM_OUTPUT_BYTES_PER_S,
  type StreamContainer,
} from "../audio/ffmpeg_stream.ts";
import { FFMPEG_MEMORY_MIB } from "../audio/limited_process.ts";
import type { ClientMessage } from "../protocol/protocol.ts";
import type { WireErrorCode } from "../protocol/wire_errors.ts";
import { startsAsContainer, wrongContainerMessage } from "./first_frame.ts";
import { CONTAINER_NAMES } from "./stream_encoding.ts";

/**
 * CPU time one stream's ffmpeg may use per second of audio it may decode: Opus and MP3 decode
 * hundreds of times faster than real time, so a process past a tenth of real time is looping
 * on hostile input. Plus a floor for start-up and short sessions.
 */
const CPU_S_PER_AUDIO_S = 0.1;
const CPU_FLOOR_S = 10;

export interface EncodedInputLimits {
  /** Decoded audio the whole connection may produce, in seconds (SESSION_MAX_S). */
  maxOutputS: number;
  /** Compressed bytes waiting for ffmpeg to read them (MAX_ENCODED_BACKLOG_BYTES). */
  maxPendingBytes: number;
}

/** What the stage does to its connection. */
export interface EncodedInputHooks {
  /** A message for the session: decoded audio (as PCM), EOS, RESET, keepalive. */
  deliver(message: ClientMessage): void;
  /** Ends the stream with an error. */
  fail(code: WireErrorCode, message: string): void;
  /** The decoded audio reached the session's length: flush the final, then end the stream. */
  outputCapped(): void;
  log(line: string): void;
}

export class EncodedInput {
  readonly #container: StreamContainer;
  readonly #limits: EncodedInputLimits;
  readonly #hooks: EncodedInputHooks;
  readonly #ffmpegPath: string | undefined;
  #current: FfmpegStream | null = null;
  /** The current process got its EOS and is finishing: later messages wait for it. */
  #ending = false;
  #held: ClientMessage[] = [];
  #heldBytes = 0;
  #outputBytes = 0;
  #closed = false;

  constructor(
    container: StreamContainer,
    limits: EncodedInputLimits,
    hooks: EncodedInputHooks,
    ffmpegPath?: string,
  ) {
    this.#container = container;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#ffmpegPath = ffmpegPath;
  }

  /** True while audio given to the stage has not all reached the session. */
  get pending(): boolean {
    return this.#current !== null || this.#held.length > 0;
  }

  receive(message: ClientMessage): void {
    if (this.#closed) return;
    switch (message.kind) {
      case "keepalive":
        this.#hooks.deliver(message);
        return;
      case "reset":
        this.#stopCurrent();
        this.#dropHeld();
        this.#hooks.deliver(message);
        return;
      case "audio":
      case "eos":
        if (this.#ending) this.#hold(message);
        else this.#apply(message);
    }
  }

  /** Kills the process, if any; nothing more reaches the session. */
  close(): void {
    this.#closed = true;
    this.#stopCurrent();
    this.#dropHeld();
  }

  #apply(message: ClientMessage & { kind: "audio" | "eos" }): void {
    if (message.kind === "eos") {
      if (this.#current === null) this.#hooks.deliver(message);
      else {
        this.#ending = true;
        this.#current.end();
      }
      return;
    }
    if (message.bytes.length === 0) return;
    if (this.#current === null) {
      if (!startsAsContainer(this.#container, message.bytes)) {
        this.#hooks.fail(
          "unsupported_audio",
          wrongContainerMessage(this.#container, message.bytes),
        );
        return;
      }
      if (!this.#start()) return;
    }
    this.#current!.write(message.bytes);
    this.#checkBacklog();
  }

  #start(): boolean {
    const leftS = this.#limits.maxOutputS - this.#outputBytes / STREAM_OUTPUT_BYTES_PER_S;
    let proc: FfmpegStream;
    try {
      proc = new FfmpegStream({
        container: this.#container,
        limits: {
          maxOutputS: Math.max(0, leftS),
          cpuSeconds: CPU_FLOOR_S + CPU_S_PER_AUDIO_S * this.#limits.maxOutputS,
          memoryMiB: FFMPEG_MEMORY_MIB,
        },
        onPcm: (bytes) => {
          if (this.#current !== proc || this.#closed) return;
          this.#outputBytes += bytes.length;
          this.#hooks.deliver({ kind: "audio", bytes });
        },
        ffmpegPath: this.#ffmpegPath,
      });
    } catch (err) {
      this.#hooks.fail(
        "unsupported_audio",
        `Cannot decode ${
          CONTAINER_NAMES[this.#container]
        } audio: the decoder could not be started (${
          err instanceof Error ? err.message : String(err)
        })`,
      );
      return false;
    }
    this.#current = proc;
    // A throw here would be an unhandled rejection, which ends the process: the stream ends.
    proc.ended.then((end) => this.#finished(proc, end)).catch((err) =>
      this.#hooks.fail("internal_error", `Decoding the stream's audio failed: ${err}`)
    );
    return true;
  }

  #finished(proc: FfmpegStream, end: FfmpegStreamEnd): void {
    if (this.#current !== proc || this.#closed) return;
    this.#current = null;
    const eos = this.#ending;
    this.#ending = false;
    switch (end.kind) {
      case "failed":
        this.#dropHeld();
        this.#hooks.fail(
          "unsupported_audio",
          `Cannot decode this audio as ${
            CONTAINER_NAMES[this.#container]
          }: ffmpeg stopped with: ${end.message}`,
        );
        return;
      case "too-long":
        this.#dropHeld();
        this.#hooks.outputCapped();
        return;
      case "killed":
        return;
      case "done":
        if (end.warning) this.#hooks.log(`ffmpeg at the end of the utterance: ${end.warning}`);
        if (eos) this.#hooks.deliver({ kind: "eos" });
    }
    const held = this.#held;
    this.#dropHeld();
    for (const m of held) this.receive(m);
  }

  #hold(message: ClientMessage): void {
    this.#held.push(message);
    if (message.kind === "audio") {
      this.#heldBytes += message.bytes.length;
      this.#checkBacklog();
    }
  }

  #dropHeld(): void {
    this.#held = [];
    this.#heldBytes = 0;
  }

  #stopCurrent(): void {
    const proc = this.#current;
    this.#current = null;
    this.#ending = false;
    proc?.kill();
  }

  /** A client sending compressed audio faster than ffmpeg reads it is held to a byte limit. */
  #checkBacklog(): void {
    const waiting = (this.#current?.pendingBytes ?? 0) + this.#heldBytes;
    if (waiting <= this.#limits.maxPendingBytes) return;
    this.#hooks.fail(
      "rate_exceeded",
      `Cannot accept more audio: ${waiting} compressed bytes are waiting for the decoder, over the limit of ${this.#limits.maxPendingBytes} (MAX_ENCODED_BACKLOG_BYTES; send audio closer to real time)`,
    );
  }
}
