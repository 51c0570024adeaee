import type { ServerMessage } from "../protocol/protocol.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import { type AudioFormat, parseAudioFormat, PcmConverter } from "./audio_format.ts";
import { encodeEvent, type FramingError, type WyomingEvent } from "./event_framing.ts";
import { infoData, type ServedModel } from "./service_info.ts";

/** Where a connection's stream session comes from: the server's batch scheduler. */
export interface SessionHost {
  /** A new session, already taking part in batches; its messages go to `send`. */
  open(send: (message: ServerMessage) => void): StreamSession;
  /** Takes the session out of batching and closes it. */
  close(session: StreamSession): void;
  /** Something may be ready to decode. */
  wake(): void;
}

export interface WyomingConnectionLimits {
  /** No event for this long: pending speech gets its transcript, then the connection closes. */
  idleTimeoutMs: number;
  /** Most seconds of audio in one utterance (audio-start to audio-stop). */
  utteranceMaxS: number;
  /** Longest connection: then the transcript being made is flushed and the connection ends. */
  connectionMaxMs: number;
  /** The model's sample rate: what audio is converted to. */
  sampleRate: number;
}

/** The connection's byte sink: writes are queued in order; `close` ends the transport. */
export interface EventSink {
  write(bytes: Uint8Array): void;
  close(): void;
}

/** Error codes told in `error` events (wyoming/error.py: text and an optional code). */
export type WyomingErrorCode =
  | FramingError["code"]
  | "unsupported_audio"
  | "rate_exceeded"
  | "session_timeout"
  | "idle_timeout"
  | "internal_error"
  | "shutting_down"
  | "capacity"
  | "slow_consumer";

/** After a transcript, end the connection with this error (audio cap, idle, shutdown). */
interface PendingEnd {
  code: WyomingErrorCode;
  text: string;
}

/**
 * One Wyoming client's events, mapped onto a stream session: `describe` → `info`;
 * `transcribe` sets the transcript's language; `audio-start`/`audio-chunk` feed converted audio;
 * `audio-stop` ends the utterance (an EOS) and its final becomes `transcript`, between
 * `transcript-start` and `transcript-stop` with `transcript-chunk`s of the committed text as it
 * grows. `ping` gets `pong`; other events are dropped, as the protocol asks of servers. Every
 * way it ends goes through `release()`, which runs once.
 */
export class WyomingConnection {
  readonly #sink: EventSink;
  readonly #host: SessionHost;
  readonly #model: ServedModel;
  readonly #limits: WyomingConnectionLimits;
  readonly #onRelease: (conn: WyomingConnection) => void;
  #session: StreamSession | null = null;
  #converter: PcmConverter | null = null;
  #language: string | null = null;
  /** Samples (at the model rate) of the utterance being received. */
  #utteranceSamples = 0;
  /** Audio is refused after the utterance cap until the next audio-start. */
  #capped = false;
  /** Between an utterance's first audio event and its audio-stop. */
  #receiving = false;
  /** Characters of the current transcript sent as chunks; null before its transcript-start. */
  #streamedChars: number | null = null;
  #endAfterTranscript: PendingEnd | null = null;
  #idleTimer?: ReturnType<typeof setTimeout>;
  #lifetimeTimer?: ReturnType<typeof setTimeout>;
  #released = false;

  constructor(
    sink: EventSink,
    host: SessionHost,
    model: ServedModel,
    limits: WyomingConnectionLimits,
    onRelease: (conn: WyomingConnection) => void,
  ) {
    this.#sink = sink;
    this.#host = host;
    this.#model = model;
    this.#limits = limits;
    this.#onRelease = onRelease;
    this.#armIdle();
    this.#lifetimeTimer = setTimeout(
      () =>
        this.endAfterTranscript(
          "session_timeout",
          "Closing: the connection reached its maximum length; the transcript above is complete",
        ),
      limits.connectionMaxMs,
    );
  }

  get released(): boolean {
    return this.#released;
  }

  /** The session, once audio has started (batch failures are matched by it). */
  get session(): StreamSession | null {
    return this.#session;
  }

  /** Handles one event from the client. */
  receive(event: WyomingEvent): void {
    if (this.#released) return;
    // Only the events of a request keep the connection: pings or unknown events alone would
    // hold a slot for ever.
    if (REQUEST_EVENTS.has(event.type)) this.#armIdle();
    switch (event.type) {
      case "describe":
        this.#send("info", infoData(this.#model));
        return;
      case "ping":
        this.#send("pong", typeof event.data.text === "string" ? { text: event.data.text } : {});
        return;
      case "transcribe":
        this.#language = typeof event.data.language === "string" ? event.data.language : null;
        return;
      case "audio-start": {
        const format = parseAudioFormat(event.data);
        if (!format.ok) return this.fail("unsupported_audio", format.message);
        this.#endConverter();
        this.#converter = new PcmConverter(format.format, this.#limits.sampleRate);
        this.#utteranceSamples = 0;
        this.#capped = false;
        this.#receiving = true;
        return;
      }
      case "audio-chunk":
        return this.#audio(event);
      case "audio-stop":
        return this.#stop();
    }
  }

  /** The byte stream broke the framing: the client is told and the connection closed. */
  framingFailed(error: FramingError): void {
    this.fail(error.code, error.message);
  }

  #audio(event: WyomingEvent): void {
    if (this.#capped) return;
    // A chunk names its format too: one that differs from audio-start's (or comes without an
    // audio-start) is converted as it says.
    const format = parseAudioFormat(event.data);
    if (!format.ok) return this.fail("unsupported_audio", format.message);
    if (!this.#converter || !sameFormat(this.#converter.format, format.format)) {
      this.#endConverter();
      this.#converter = new PcmConverter(format.format, this.#limits.sampleRate);
    }
    this.#receiving = true;
    if (!event.payload || event.payload.length === 0) return;
    this.#feed(this.#converter.push(event.payload));
    const maxSamples = this.#limits.utteranceMaxS * this.#limits.sampleRate;
    if (!this.#released && this.#utteranceSamples > maxSamples) {
      this.#capped = true;
      this.endAfterTranscript(
        "session_timeout",
        `Closing: the utterance reached ${this.#limits.utteranceMaxS} s of audio; the transcript above is complete`,
      );
    }
  }

  /** A session from the host; a batch that fails it ends this connection with its error. */
  #openSession(): StreamSession {
    const session = this.#host.open((m) => this.#fromSession(m));
    session.onBatchFailed = (error) =>
      this.fail("internal_error", `Inference failed for this stream: ${error.message}`);
    return session;
  }

  #feed(pcm: Uint8Array): void {
    if (pcm.length === 0 || this.#released) return;
    this.#session ??= this.#openSession();
    this.#utteranceSamples += pcm.length >> 1;
    const violation = this.#session.receive({ kind: "audio", bytes: pcm });
    if (violation) return this.fail(violation.code as WyomingErrorCode, violation.message);
    this.#host.wake();
  }

  /** Flushes the converter's tail into the utterance. */
  #endConverter(): void {
    const converter = this.#converter;
    this.#converter = null;
    if (converter) this.#feed(converter.end());
  }

  #stop(): void {
    this.#endConverter();
    if (this.#released) return;
    this.#session ??= this.#openSession();
    this.#session.receive({ kind: "eos" });
    this.#utteranceSamples = 0;
    this.#receiving = false;
    this.#host.wake();
  }

  #fromSession(message: ServerMessage): void {
    if (this.#released) return;
    if (message.type === "partial") {
      // Chunks only ever append, so they carry committed text (which only grows), never the
      // tentative words a later partial may revise.
      const offset = message.text_offset ?? 0;
      const stable = message.stable ?? "";
      this.#streamTo(stable, offset);
    } else if (message.type === "final") {
      this.#streamTo(message.text, 0);
      const data: Record<string, unknown> = { text: message.text };
      if (this.#language !== null) data.language = this.#language;
      this.#send("transcript", data);
      this.#send("transcript-stop");
      this.#streamedChars = null;
      const end = this.#endAfterTranscript;
      if (end) this.fail(end.code, end.text);
    }
  }

  /** Sends what `text` (which starts at character `offset` of the transcript) adds as a chunk. */
  #streamTo(text: string, offset: number): void {
    if (this.#streamedChars === null) {
      const start: Record<string, unknown> = {};
      if (this.#language !== null) start.language = this.#language;
      this.#send("transcript-start", start);
      this.#streamedChars = 0;
    }
    const from = this.#streamedChars - offset;
    if (from < 0 || from >= text.length) return;
    this.#send("transcript-chunk", { text: text.slice(from) });
    this.#streamedChars = offset + text.length;
  }

  #armIdle(delayMs = this.#limits.idleTimeoutMs): void {
    clearTimeout(this.#idleTimer);
    this.#idleTimer = setTimeout(() => this.#idle(), delayMs);
  }

  /**
   * Nothing heard for the idle limit. Speech already received gets its transcript (as an
   * audio-stop would) before the close, unless that does not come within one more period.
   */
  #idle(): void {
    const text = `Closing: no event for ${this.#limits.idleTimeoutMs / 1000} s`;
    if (this.#session?.pending || this.#receiving) {
      this.endAfterTranscript("idle_timeout", text + "; the transcript above is complete");
      this.#idleTimer = setTimeout(
        () => this.fail("idle_timeout", text),
        this.#limits.idleTimeoutMs,
      );
      return;
    }
    this.fail("idle_timeout", text);
  }

  /**
   * Ends the utterance being received (as audio-stop would) and the connection once its
   * transcript is out; with nothing pending, at once.
   */
  endAfterTranscript(code: WyomingErrorCode, text: string): void {
    if (this.#released) return;
    if (!this.#session?.pending && !this.#receiving) return this.fail(code, text);
    this.#endAfterTranscript = { code, text };
    if (this.#receiving) this.#stop();
  }

  /** Tells the client what went wrong and closes. */
  fail(code: WyomingErrorCode, text: string): void {
    if (this.#released) return;
    this.#send("error", { text, code });
    this.release();
  }

  #send(type: string, data: Record<string, unknown> = {}): void {
    if (this.#released) return;
    this.#sink.write(encodeEvent(type, data));
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    clearTimeout(this.#idleTimer);
    clearTimeout(this.#lifetimeTimer);
    this.#converter = null;
    if (this.#session) this.#host.close(this.#session);
    this.#sink.close();
    this.#onRelease(this);
  }
}

const REQUEST_EVENTS: ReadonlySet<string> = new Set([
  "describe",
  "transcribe",
  "audio-start",
  "audio-chunk",
  "audio-stop",
]);

function sameFormat(a: AudioFormat, b: AudioFormat): boolean {
  return a.rate === b.rate && a.width === b.width && a.channels === b.channels;
}
