/**
 * The server end of one WebSocket, over a connection our HTTP layer upgraded. It has the shape
 * of the browser `WebSocket` the application already uses (on* handlers, send, close,
 * readyState, bufferedAmount, binaryType) plus what the platform one lacks:
 * - each frame's declared length, and the running size of a fragmented message, are checked
 *   against the limit of its kind before the payload is read; past it nothing more of that
 *   message is kept (the rest is skipped as it arrives) and `onmessagetoolarge` tells the app,
 *   which answers and closes (1009 if it has no handler);
 * - a peer silent for half of `idleTimeoutMs` is pinged; one that sends nothing at all, not
 *   even a pong, for `idleTimeoutMs` (+1 s) is closed with 1001 (ws_liveness.ts);
 * - our close waits a moment for the peer's close frame, then ends the TCP connection;
 * - a handler that throws closes its own connection with 1011 (`onHandlerError` hears of it).
 */
import type { ConnReader } from "./conn_reader.ts";
import {
  closePayload,
  encodeFrame,
  type FrameHeader,
  MessageGuard,
  type MessageLimits,
  OP,
  parseClosePayload,
  parseFrameHeader,
  unmask,
} from "./ws_frame.ts";
import { Assembly } from "./ws_assembly.ts";
import { Liveness } from "./ws_liveness.ts";
import { FrameWriter } from "./ws_writer.ts";
import { RateLimitedLog } from "./rate_limited_log.ts";

export interface SocketOptions extends MessageLimits {
  /** Silence (no frame, no pong) after which the peer is taken for dead: close 1001. */
  idleTimeoutMs: number;
  /** How long our close waits for the peer's close frame before the TCP connection ends. */
  closeWaitMs?: number;
  /**
   * Told when one of the application's handlers throws; the socket then closes with 1011.
   * (Default: one log line a minute on stderr, with the count of the others.)
   */
  onHandlerError?: (type: string, error: unknown) => void;
}

/** The default `onHandlerError`: a fault a client can find again and again logs once a minute. */
const handlerErrorLog = new RateLimitedLog((line) => console.error(line));
function logHandlerError(type: string, error: unknown): void {
  const what = error instanceof Error ? (error.stack ?? error.message) : String(error);
  handlerErrorLog.note(
    "websocket handler",
    `${new Date().toISOString()} websocket ${type} handler threw, connection closed 1011: ${
      what.slice(0, 2000)
    }`,
  );
}

/** How a socket ended, for the connection layer's counters. */
export type SocketEnd = "closed" | "no_pong" | "protocol_error" | "aborted";

export interface MessageTooLarge {
  kind: "text" | "binary";
  /** The message's size so far, at least: the frame that passed the limit counted whole. */
  size: number;
  limit: number;
}

const CONNECTING = 0;
const OPEN = 1;
const CLOSING = 2;
const CLOSED = 3;
const SKIP_BYTES = 64 * 1024;

type Handler<E> = ((event: E) => void) | null;

export class ServerWebSocket extends EventTarget {
  static readonly CONNECTING = CONNECTING;
  static readonly OPEN = OPEN;
  static readonly CLOSING = CLOSING;
  static readonly CLOSED = CLOSED;

  readyState: number = CONNECTING;
  binaryType: BinaryType = "blob";
  onopen: Handler<Event> = null;
  onmessage: Handler<MessageEvent> = null;
  onclose: Handler<CloseEvent> = null;
  onerror: Handler<Event> = null;
  onmessagetoolarge: Handler<MessageTooLarge> = null;

  readonly #options: Required<SocketOptions>;
  readonly #guard: MessageGuard;
  #conn: Deno.Conn | null = null;
  #reader: ConnReader | null = null;
  #onEnd: (how: SocketEnd) => void = () => {};
  readonly #writer: FrameWriter;
  readonly #liveness: Liveness;
  /** The message being assembled (its fragments so far). */
  #message = new Assembly();
  /** A pong is waiting in the queue: a ping flood from a peer not reading queues one, not many. */
  #pongQueued = false;
  /** After a message too large: data frames are skipped, never kept, until the close. */
  #skipping = false;
  #closeTimer?: ReturnType<typeof setTimeout>;
  /** The close we sent (code, reason), once sent. */
  #sentClose: [number, string] | null = null;

  constructor(options: SocketOptions) {
    super();
    this.#options = { closeWaitMs: 500, onHandlerError: logHandlerError, ...options };
    this.#guard = new MessageGuard(options);
    this.#writer = new FrameWriter((frame) => {
      if ((frame[0] & 0x0f) === OP.pong) this.#pongQueued = false;
    }, () => this.#abrupt());
    this.#liveness = new Liveness(options.idleTimeoutMs, {
      isOpen: () => this.readyState === OPEN,
      ping: () => this.#enqueue(encodeFrame(OP.ping, new Uint8Array(0)), true),
      dead: () => this.terminate(1001, "no response to pings", "no_pong"),
    });
  }

  get bufferedAmount(): number {
    return this.#writer.buffered;
  }

  /**
   * Called once the 101 is written: the socket takes the connection over. False when the socket
   * was ended before (the connection is then the caller's to close).
   */
  start(conn: Deno.Conn, reader: ConnReader, onEnd: (how: SocketEnd) => void): boolean {
    // Ended before it opened (shutdown while the 101 was being written).
    if (this.readyState !== CONNECTING) return false;
    this.#conn = conn;
    this.#reader = reader;
    this.#onEnd = onEnd;
    this.readyState = OPEN;
    this.#writer.attach(conn);
    this.#liveness.start();
    this.#emit("open", new Event("open"));
    this.#readLoop();
    return true;
  }

  send(data: string | ArrayBufferLike | ArrayBufferView): void {
    if (this.readyState === CONNECTING) {
      throw new DOMException("the WebSocket is not open yet", "InvalidStateError");
    }
    if (this.readyState !== OPEN) return;
    if (typeof data === "string") {
      this.#enqueue(encodeFrame(OP.text, new TextEncoder().encode(data)));
    } else if (ArrayBuffer.isView(data)) {
      const view = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
      this.#enqueue(encodeFrame(OP.binary, view));
    } else {
      this.#enqueue(encodeFrame(OP.binary, new Uint8Array(data)));
    }
  }

  /** Starts the closing handshake; the connection ends when the peer answers or soon after. */
  close(code = 1000, reason = ""): void {
    if (this.readyState === CLOSING || this.readyState === CLOSED) return;
    if (this.readyState === CONNECTING) {
      this.#finish(code, reason, false, "closed");
      return;
    }
    this.#sendClose(code, reason);
    // Mid-way through skipping a message too large, the peer's close frame sits behind the
    // rest of it: little point waiting long (what arrives meanwhile is still drained).
    const wait = this.#skipping
      ? Math.min(200, this.#options.closeWaitMs)
      : this.#options.closeWaitMs;
    this.#closeTimer = setTimeout(
      () => this.#finish(code, reason, false, "closed"),
      wait,
    );
  }

  /** Ends the connection now (server shutdown, a dead peer): close frame if it can, no wait. */
  terminate(code: number, reason: string, how: SocketEnd = "aborted"): void {
    if (this.readyState === CLOSED) return;
    if (this.readyState === OPEN) this.#sendClose(code, reason);
    const [c, r] = this.#sentClose ?? [code, reason];
    // The close frame gets a short moment to leave; a peer not reading does not hold us.
    this.#writer.afterFlush(200, () => this.#finish(c, r, false, how));
  }

  #sendClose(code: number, reason: string): void {
    this.readyState = CLOSING;
    this.#sentClose = [code, reason];
    this.#enqueue(encodeFrame(OP.close, closePayload(code, reason)), true);
  }

  #enqueue(frame: Uint8Array, control = false): void {
    if (!control && this.readyState !== OPEN) return;
    this.#writer.push(frame);
  }

  #heard(): void {
    this.#liveness.heard();
  }

  async #readLoop(): Promise<void> {
    const reader = this.#reader!;
    try {
      for (;;) {
        const parsed = parseFrameHeader(reader.buffered);
        if (parsed.kind === "incomplete") {
          if (!(await reader.fill())) break;
          this.#heard();
          continue;
        }
        if (parsed.kind === "invalid") return this.#protocolError(1002, parsed.reason);
        const h = parsed.header;
        reader.consume(h.size);
        this.#heard();
        const verdict = this.#guard.judge(h);
        if (verdict.kind === "protocol_error") return this.#protocolError(1002, verdict.reason);
        if (verdict.kind === "control") {
          const payload = await this.#readPayload(h);
          if (payload === null) break;
          if (this.#control(h.opcode, payload)) return;
          continue;
        }
        if (verdict.kind === "too_large" && !this.#skipping) {
          this.#skipping = true;
          this.#message = new Assembly();
          this.#tooLarge(verdict.message, verdict.size);
        }
        if (this.#skipping || this.readyState !== OPEN) {
          if (!(await this.#skip(h.length))) break;
          continue;
        }
        const payload = await this.#readPayload(h);
        if (payload === null) break;
        this.#message.add(payload);
        if (verdict.kind === "data" && verdict.final) {
          const bytes = this.#message.take();
          if (!this.#deliver(verdict.message, bytes)) return;
        }
      }
    } catch {
      // A reset or a connection closed under the read: the same as the end of the stream.
    }
    this.#abrupt();
  }

  async #readPayload(h: FrameHeader): Promise<Uint8Array | null> {
    const payload = new Uint8Array(h.length);
    let off = 0;
    while (off < h.length) {
      const n = await this.#reader!.readInto(payload.subarray(off));
      if (n === null) return null;
      off += n;
      this.#heard();
    }
    unmask(payload, h.mask);
    return payload;
  }

  /** Reads and drops `length` bytes without keeping them. */
  async #skip(length: number): Promise<boolean> {
    const scratch = new Uint8Array(Math.min(SKIP_BYTES, Math.max(1, length)));
    let left = length;
    while (left > 0) {
      const n = await this.#reader!.readInto(scratch.subarray(0, Math.min(left, scratch.length)));
      if (n === null) return false;
      left -= n;
      this.#heard();
    }
    return true;
  }

  /** Handles a control frame; true when the connection is over. */
  #control(opcode: number, payload: Uint8Array): boolean {
    if (opcode === OP.ping) {
      if (this.readyState === OPEN && !this.#pongQueued) {
        this.#pongQueued = true;
        this.#enqueue(encodeFrame(OP.pong, payload), true);
      }
      return false;
    }
    if (opcode === OP.pong) return false;
    const info = parseClosePayload(payload);
    if (!info.ok) {
      this.#protocolError(info.code, info.reason);
      return true;
    }
    if (this.#sentClose) {
      // The peer answered our close: done, cleanly.
      this.#finish(this.#sentClose[0], this.#sentClose[1], true, "closed");
      return true;
    }
    this.#sendClose(info.code === 1005 ? 1005 : info.code, info.reason);
    this.#writer.afterFlush(200, () => this.#finish(info.code, info.reason, true, "closed"));
    return true;
  }

  #tooLarge(kind: "text" | "binary", size: number): void {
    const limit = kind === "text" ? this.#options.maxTextBytes : this.#options.maxBinaryBytes;
    if (this.onmessagetoolarge) this.onmessagetoolarge({ kind, size, limit });
    else this.close(1009, `${kind} message over ${limit} bytes`);
  }

  /** Hands a complete message to the app; false when it was not valid (UTF-8). */
  #deliver(opcode: number, bytes: Uint8Array): boolean {
    let data: string | ArrayBuffer | Blob;
    if (opcode === OP.text) {
      try {
        data = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
      } catch {
        this.#protocolError(1007, "text message is not UTF-8");
        return false;
      }
    } else {
      const buffer = bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength
        ? bytes.buffer as ArrayBuffer
        : bytes.slice().buffer as ArrayBuffer;
      data = this.binaryType === "blob" ? new Blob([buffer]) : buffer;
    }
    this.#emit("message", new MessageEvent("message", { data }));
    return true;
  }

  #protocolError(code: number, reason: string): void {
    if (this.readyState === OPEN) this.#sendClose(code, reason);
    this.#writer.afterFlush(200, () => this.#finish(code, reason, false, "protocol_error"));
  }

  /** The connection ended without a close handshake (or after ours went unanswered). */
  #abrupt(): void {
    if (this.readyState === CLOSED) return;
    if (this.#sentClose) {
      this.#finish(this.#sentClose[0], this.#sentClose[1], false, "closed");
      return;
    }
    this.#emit("error", new Event("error"));
    this.#finish(1006, "", false, "closed");
  }

  #finish(code: number, reason: string, wasClean: boolean, how: SocketEnd): void {
    if (this.readyState === CLOSED) return;
    this.readyState = CLOSED;
    this.#liveness.stop();
    clearTimeout(this.#closeTimer);
    this.#message = new Assembly();
    try {
      this.#conn?.close();
    } catch {
      // already closed
    }
    this.#emit("close", new CloseEvent("close", { code, reason, wasClean }));
    this.#onEnd(how);
  }

  #emit<E extends Event>(type: string, event: E): void {
    const handler = (this as unknown as Record<string, Handler<E>>)[`on${type}`];
    try {
      handler?.call(this, event);
    } catch (err) {
      // Not reportError, the platform's way: an uncaught error ends the process, so a fault
      // one client's message finds in a handler would end every client's connection.
      this.#options.onHandlerError(type, err);
      if (this.readyState === OPEN) this.close(1011, "internal error");
    }
    this.dispatchEvent(event);
  }
}
