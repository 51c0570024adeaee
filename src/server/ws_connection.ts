import { SilenceTimer, SlowConsumerWatch } from "./connection_watch.ts";
import { SocketClose } from "./socket_close.ts";
import type { MessageTooLarge } from "../net/ws_socket.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import {
  type ClientMessage,
  encodeServerMessage,
  type FrameLimits,
  parseClientFrame,
  type ServerMessage,
  tooLarge,
} from "../protocol/protocol.ts";
import { inspectFirstFrame, unsupportedAudioMessage } from "./first_frame.ts";
import { TokenBucket } from "./token_bucket.ts";
import { closeCodeFor, type WireErrorCode } from "../protocol/wire_errors.ts";

export interface ConnectionLimits extends FrameLimits {
  maxMessagesPerS: number;
  idleTimeoutMs: number;
  sessionMaxMs: number;
  slowConsumerBytes: number;
  slowConsumerMs: number;
  closeTimeoutMs: number;
  /** Pause between an error message and the close frame that follows it. */
  closeLingerMs: number;
}

export interface ConnectionHooks {
  /** Something may be ready to decode. */
  wake(): void;
  /** Called exactly once, when every resource of the connection must be let go. */
  release(conn: WsConnection): void;
  log(message: string): void;
  /** An error message is being sent (for metrics). */
  error?(code: WireErrorCode): void;
}

/**
 * What a connection needs of its socket: the platform `WebSocket`'s shape, which the server's
 * own (src/net/ws_socket.ts) has too, plus its report of a message over the limit, made before
 * the message is read.
 */
export interface StreamSocket {
  readonly readyState: number;
  readonly bufferedAmount: number;
  binaryType: BinaryType;
  onmessage: ((e: MessageEvent) => void) | null;
  onclose: ((e: CloseEvent) => void) | null;
  onerror: ((e: Event) => void) | null;
  onmessagetoolarge?: ((e: MessageTooLarge) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

/**
 * A stage between the client's messages and the session: the decoder of a stream of compressed
 * audio. It hands the session what it should see, in order, and ends the stream on its errors.
 */
export interface StreamInput {
  receive(message: ClientMessage): void;
  /** True while audio given to it has not all reached the session. */
  readonly pending: boolean;
  /** The connection is ending: stop, and hand nothing more over. */
  close(): void;
}

/** What a stream input may do to its connection. */
export interface StreamInputHooks {
  deliver(message: ClientMessage): void;
  fail(code: WireErrorCode, message: string): void;
  /** The decoded audio reached the session's length: final, then `session_timeout`. */
  outputCapped(): void;
  log(line: string): void;
}

/**
 * One WebSocket and its stream: receive and send paths, limits, and timers. Every way a
 * connection can end (client close, error, our close, a peer that never answers it, a deadline)
 * goes through `release()`, which runs once.
 */
export class WsConnection {
  readonly session: StreamSession;
  readonly #socket: StreamSocket;
  readonly #limits: ConnectionLimits;
  readonly #hooks: ConnectionHooks;
  readonly #bucket: TokenBucket;
  /** The decoder of compressed audio, when the stream declared an encoding; else raw PCM. */
  readonly #input: StreamInput | null;
  readonly #silence = new SilenceTimer(() => this.#idle());
  #sessionTimer?: ReturnType<typeof setTimeout>;
  #socketClose?: SocketClose;
  #slow?: SlowConsumerWatch;
  #closing = false;
  #released = false;
  /** Set once the first audio frame was looked at for a container. */
  #sniffed = false;
  /** After the next final, end the connection with this error (session cap, shutdown). */
  #endAfterFinal: WireErrorCode | null = null;
  droppedPartials = 0;

  constructor(
    socket: StreamSocket,
    makeSession: (send: (m: ServerMessage) => void) => StreamSession,
    limits: ConnectionLimits,
    hooks: ConnectionHooks,
    makeInput?: (hooks: StreamInputHooks) => StreamInput,
  ) {
    this.#socket = socket;
    this.#limits = limits;
    this.#hooks = hooks;
    this.#bucket = new TokenBucket(limits.maxMessagesPerS, limits.maxMessagesPerS);
    this.session = makeSession((m) => this.#send(m));
    this.#input = makeInput?.({
      deliver: (m) => this.#deliver(m),
      fail: (code, message) => this.fail(code, message),
      outputCapped: () => {
        this.#hooks.log(`stream ${this.session.id}: decoded audio reached the session cap`);
        this.endAfterFinal("session_timeout");
      },
      log: (line) => this.#hooks.log(`stream ${this.session.id}: ${line}`),
    }) ?? null;
    this.session.onBatchFailed = (error) =>
      this.fail("internal_error", inferenceFailedMessage(error));
    socket.binaryType = "arraybuffer";
    socket.onmessage = (e) => this.#receive(e.data);
    // The socket stops reading a message over the limit; the answer is the same as for one
    // read whole.
    socket.onmessagetoolarge = (e) => {
      const v = tooLarge(e.kind, e.size, e.limit);
      this.fail(v.code, v.message);
    };
    socket.onclose = () => this.release();
    socket.onerror = () => this.release();
    this.#silence.arm(this.#limits.idleTimeoutMs);
    this.#sessionTimer = setTimeout(() => {
      this.#hooks.log(`stream ${this.session.id}: session cap reached, flushing the final`);
      this.endAfterFinal("session_timeout");
    }, limits.sessionMaxMs);
  }

  get closing(): boolean {
    return this.#closing || this.#released;
  }

  #receive(data: unknown): void {
    if (this.closing) return;
    if (!this.#bucket.take()) {
      this.fail(
        "message_rate_exceeded",
        `Cannot accept more than ${this.#limits.maxMessagesPerS} messages per second`,
      );
      return;
    }
    const parsed = parseClientFrame(data as string | ArrayBuffer, this.#limits);
    if (!parsed.ok) {
      this.fail(parsed.error.code, parsed.error.message);
      return;
    }
    let m = parsed.message;
    if (this.#input) {
      // The decoder checks each utterance's container itself and feeds the session.
      if (m.kind === "audio" && m.bytes.length > 0) this.#silence.arm(this.#limits.idleTimeoutMs);
      this.#input.receive(m);
      return;
    }
    if (m.kind === "audio" && m.bytes.length > 0 && !this.#sniffed) {
      this.#sniffed = true;
      const first = inspectFirstFrame(m.bytes);
      if (first.kind === "refused") {
        this.fail("unsupported_audio", unsupportedAudioMessage(first.seen));
        return;
      }
      if (first.kind === "wav") m = { kind: "audio", bytes: m.bytes.subarray(first.skip) };
    }
    // Only audio keeps a stream slot: a client sending nothing but keepalives (or empty frames)
    // would hold one for the whole session cap.
    if (m.kind === "audio" && m.bytes.length > 0) this.#silence.arm(this.#limits.idleTimeoutMs);
    this.#deliver(m);
  }

  /** A message for the session (decoded audio included); its violation ends the stream. */
  #deliver(m: ClientMessage): void {
    if (this.closing) return;
    const violation = this.session.receive(m);
    if (violation) {
      this.fail(violation.code, violation.message);
      return;
    }
    this.#hooks.wake();
  }

  #send(message: ServerMessage): void {
    if (this.#released || this.#socket.readyState !== WebSocket.OPEN) return;
    if (this.#slowWatch().behind()) {
      // A client that is not reading loses partials (a later one supersedes them), never finals.
      if (message.type === "partial") {
        this.droppedPartials++;
        return;
      }
    }
    this.#socket.send(encodeServerMessage(message));
    if (message.type === "final" && this.#endAfterFinal) {
      this.fail(
        this.#endAfterFinal,
        this.#endAfterFinal === "idle_timeout"
          ? this.#idleMessage(true)
          : endMessage(this.#endAfterFinal),
      );
    }
  }

  /** Started with the first send: closes a client that stops reading. */
  #slowWatch(): SlowConsumerWatch {
    return this.#slow ??= new SlowConsumerWatch(
      this.#socket,
      this.#limits,
      (message) => this.fail("slow_consumer", message),
    );
  }

  /**
   * No audio for the idle limit. Speech already received is not thrown away: it is flushed as
   * an EOS would and its final sent before the close. A final that does not come within one
   * more idle period (a stuck model) does not hold the slot either.
   */
  #idle(): void {
    if (!this.session.pending && !this.#input?.pending) {
      this.fail("idle_timeout", this.#idleMessage(false));
      return;
    }
    this.#hooks.log(`stream ${this.session.id}: no audio for a while, flushing the final`);
    this.endAfterFinal("idle_timeout");
    this.#silence.after(
      this.#limits.idleTimeoutMs,
      () => this.fail("idle_timeout", this.#idleMessage(false)),
    );
  }

  #idleMessage(afterFinal: boolean): string {
    return `Closing: no audio for ${this.#limits.idleTimeoutMs / 1000} s` +
      (afterFinal ? "; the final above is complete" : "");
  }

  /** Flushes the current utterance (as EOS would), then ends with `code` once its final is out. */
  endAfterFinal(code: WireErrorCode): void {
    if (this.closing) return;
    this.#endAfterFinal = code;
    // Through the decoder, if any: the audio it holds is flushed into the session first.
    if (this.#input) this.#input.receive({ kind: "eos" });
    else this.session.receive({ kind: "eos" });
    this.#hooks.wake();
  }

  /** Tells the client what went wrong; closes when the error's close code says so. */
  fail(code: WireErrorCode, message: string): void {
    if (this.closing) return;
    this.#hooks.error?.(code);
    if (this.#socket.readyState === WebSocket.OPEN) {
      this.#socket.send(encodeServerMessage({ type: "error", code, message }));
    }
    const close = closeCodeFor(code);
    if (close !== null) this.close(close, code);
  }

  /** Starts the close handshake; resources go now, the socket at the deadline at the latest. */
  close(code: number, reason: string): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#input?.close();
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
    this.#input?.close();
    this.session.close();
    this.#hooks.release(this);
  }
}

/** What a stream whose batch failed is told. */
export function inferenceFailedMessage(error: Error): string {
  return `Inference failed for this stream: ${error.message}`;
}

function endMessage(code: WireErrorCode): string {
  switch (code) {
    case "session_timeout":
      return "Closing: the session reached its maximum length; the final above is complete";
    case "shutting_down":
      return "Closing: the server is shutting down; the final above is complete";
    default:
      return `Closing: ${code}`;
  }
}
