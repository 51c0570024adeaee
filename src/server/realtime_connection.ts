/**
 * One `/v1/realtime` WebSocket (OpenAI's Realtime API, transcription session) and its stream
 * session: JSON events in, JSON events out, with the limits of a `/ws` stream (message rate,
 * inactivity, session length, message size). Every way it can end goes through `release()`,
 * which runs once.
 */
import { SilenceTimer, SlowConsumerWatch } from "./connection_watch.ts";
import { SocketClose } from "./socket_close.ts";
import { parseClientEvent, type RealtimeError } from "../realtime/realtime_events.ts";
import { type FatalError, RealtimeSession } from "../realtime/realtime_session.ts";
import type { ServerVad } from "../realtime/realtime_events.ts";
import type { ServerMessage } from "../protocol/protocol.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import { TokenBucket } from "./token_bucket.ts";
import type { StreamSocket } from "./ws_connection.ts";

/** A stream socket that also tells when it opens (the server's sends the 101 after the handler). */
export interface RealtimeSocket extends StreamSocket {
  onopen: ((e: Event) => void) | null;
}

export interface RealtimeLimits {
  /** Largest text frame (an append's base64 and its envelope). */
  maxEventBytes: number;
  /** Most audio bytes one append carries. */
  maxAppendBytes: number;
  maxMessagesPerS: number;
  idleTimeoutMs: number;
  sessionMaxMs: number;
  /** Unsent bytes over this for `slowConsumerMs` end a client that stopped reading. */
  slowConsumerBytes: number;
  slowConsumerMs: number;
  closeTimeoutMs: number;
  closeLingerMs: number;
}

export interface RealtimeHooks {
  /** Something may be ready to decode. */
  wake(): void;
  /** Called exactly once, when every resource of the connection must be let go. */
  release(conn: RealtimeConnection): void;
  log(message: string): void;
}

export interface RealtimeSessionConfig {
  /** The name sessions report for the transcription model. */
  model: string;
  turnDetection: ServerVad | null;
  maxBacklogFrames: number;
  secondsPerFrame: number;
}

/** Close codes: a client's broken promise (1008), too large (1009), our failure (1011). */
const CLOSE_POLICY = 1008;
const CLOSE_TOO_LARGE = 1009;
const CLOSE_INTERNAL = 1011;
const CLOSE_GOING_AWAY = 1001;

export class RealtimeConnection {
  readonly session: StreamSession;
  readonly realtime: RealtimeSession;
  readonly #socket: RealtimeSocket;
  /** Events sent before the socket opened (`session.created`). */
  #beforeOpen: string[] | null = [];
  readonly #limits: RealtimeLimits;
  readonly #hooks: RealtimeHooks;
  readonly #bucket: TokenBucket;
  readonly #silence = new SilenceTimer(() => this.#idle());
  #sessionTimer?: ReturnType<typeof setTimeout>;
  #socketClose?: SocketClose;
  #slow?: SlowConsumerWatch;
  /** Ending: the error (none for a shutdown) and close code, once every item is transcribed. */
  #endWhenDone: { error: RealtimeError | null; code: number } | null = null;
  #closing = false;
  #released = false;

  constructor(
    socket: RealtimeSocket,
    makeSession: (send: (m: ServerMessage) => void) => StreamSession,
    config: RealtimeSessionConfig,
    limits: RealtimeLimits,
    hooks: RealtimeHooks,
  ) {
    this.#socket = socket;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#bucket = new TokenBucket(limits.maxMessagesPerS, limits.maxMessagesPerS);
    this.session = makeSession((m) => this.#streamMessage(m));
    this.realtime = new RealtimeSession(this.session, {
      send: (e) => this.#send(JSON.stringify(e)),
      model: config.model,
      turnDetection: config.turnDetection,
      maxBacklogFrames: config.maxBacklogFrames,
      secondsPerFrame: config.secondsPerFrame,
    });
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => this.#receive(e.data);
    socket.onmessagetoolarge = (e) =>
      this.fail(
        invalid("message_too_large", `Cannot accept an event over ${e.limit} bytes`),
        CLOSE_TOO_LARGE,
      );
    socket.onopen = () => {
      const queued = this.#beforeOpen ?? [];
      this.#beforeOpen = null;
      for (const text of queued) this.#send(text);
    };
    if (socket.readyState === WebSocket.OPEN) this.#beforeOpen = null;
    socket.onclose = () => this.release();
    socket.onerror = () => this.release();
    this.realtime.start();
    this.#silence.arm(this.#limits.idleTimeoutMs);
    this.#sessionTimer = setTimeout(() => {
      this.#hooks.log(`stream ${this.session.id}: session cap reached, finishing its items`);
      this.#endAfterItems(
        invalid(
          "session_timeout",
          "Closing: the session reached its maximum length; the transcripts above are complete",
        ),
        CLOSE_POLICY,
      );
    }, limits.sessionMaxMs);
  }

  get closing(): boolean {
    return this.#closing || this.#released;
  }

  #receive(data: unknown): void {
    if (this.closing) return;
    if (!this.#bucket.take()) {
      this.fail(
        invalid(
          "message_rate_exceeded",
          `Cannot accept more than ${this.#limits.maxMessagesPerS} events per second`,
        ),
        CLOSE_POLICY,
      );
      return;
    }
    if (this.#endWhenDone !== null) return;
    if (typeof data !== "string") {
      this.realtime.refuse(
        invalid("invalid_json", "Events are JSON text messages; audio goes in base64 appends"),
      );
      return;
    }
    const parsed = parseClientEvent(data, this.#limits);
    if (!parsed.ok) {
      if (parsed.error.code === "message_too_large") this.fail(parsed.error, CLOSE_TOO_LARGE);
      else this.realtime.refuse(parsed.error);
      return;
    }
    // Only audio keeps a stream slot, as on /ws.
    if (parsed.event.type === "input_audio_buffer.append") {
      this.#silence.arm(this.#limits.idleTimeoutMs);
    }
    const fatal = this.realtime.receive(parsed.event);
    if (fatal) {
      this.fail(fatal.error, CLOSE_POLICY);
      return;
    }
    this.#hooks.wake();
  }

  #streamMessage(m: ServerMessage): void {
    if (this.#released) return;
    this.realtime.streamMessage(m);
    const end = this.#endWhenDone;
    if (end !== null && !this.session.pending) {
      if (end.error) this.fail(end.error, end.code);
      else this.close(end.code, "shutting_down");
    }
  }

  #send(text: string): void {
    if (this.#released) return;
    if (this.#beforeOpen !== null && this.#socket.readyState === WebSocket.CONNECTING) {
      this.#beforeOpen.push(text);
      return;
    }
    if (this.#socket.readyState !== WebSocket.OPEN) return;
    // Events are never dropped (each one matters to the protocol): a client that stops reading
    // is closed instead.
    this.#slowWatch().behind();
    this.#socket.send(text);
  }

  /** Started with the first send: closes a client that stops reading. */
  #slowWatch(): SlowConsumerWatch {
    return this.#slow ??= new SlowConsumerWatch(
      this.#socket,
      this.#limits,
      (message) => this.fail(invalid("slow_consumer", message), CLOSE_POLICY),
    );
  }

  /**
   * No audio for the idle limit: items already committed (and a server-VAD turn in progress)
   * are transcribed before the close, within one more idle period.
   */
  #idle(): void {
    const error = invalid(
      "idle_timeout",
      `Closing: no audio for ${this.#limits.idleTimeoutMs / 1000} s`,
    );
    this.#endAfterItems(error, CLOSE_POLICY);
  }

  /**
   * Ends the session once what was heard is transcribed: at once if nothing is pending, at the
   * latest one idle period later (a stuck model does not hold the slot). Events that arrive
   * meanwhile are not applied.
   */
  #endAfterItems(error: RealtimeError | null, code: number): void {
    if (this.closing || this.#endWhenDone !== null) return;
    this.realtime.finishBuffered();
    this.#hooks.wake();
    const end = () => error ? this.fail(error, code) : this.close(code, "shutting_down");
    if (!this.session.pending) {
      end();
      return;
    }
    this.#endWhenDone = { error, code };
    this.#silence.after(this.#limits.idleTimeoutMs, end);
  }

  /** The model failed on this stream's batch: its items fail, then the connection. */
  decodeFailed(message: string): void {
    if (this.closing) return;
    const fatal: FatalError = this.realtime.streamFailed(message);
    this.fail(fatal.error, CLOSE_INTERNAL);
  }

  /**
   * The server is stopping: what was heard is transcribed (committed items, a server-VAD turn in
   * progress), then the connection closes 1001.
   */
  drain(): void {
    this.#endAfterItems(null, CLOSE_GOING_AWAY);
  }

  /** Tells the client what went wrong, then closes. */
  fail(error: RealtimeError, closeCode: number): void {
    if (this.closing) return;
    this.realtime.refuse(error);
    this.close(closeCode, error.code);
  }

  /** Starts the close handshake; resources go now, the socket at the deadline at the latest. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.session.close();
    this.#clearTimers();
    this.#socketClose = new SocketClose(this.#socket, this.#limits);
    this.#socketClose.start(code, reason, () => this.release());
    this.#hooks.wake();
  }

  #clearTimers(): void {
    this.#silence.clear();
    clearTimeout(this.#sessionTimer);
    this.#slow?.stop();
  }

  release(): void {
    if (this.#released) return;
    this.#released = true;
    this.#closing = true;
    this.#clearTimers();
    this.#socketClose?.cancel();
    this.session.close();
    this.#hooks.release(this);
  }
}

function invalid(code: string, message: string): RealtimeError {
  return { type: "invalid_request_error", code, message, param: null, event_id: null };
}
