/**
 * One streaming connection to `/ws`, low level: open it (token, subprotocols, headers), send
 * audio frames (paced or not), control frames and EOS, and keep every server message and the
 * close with its arrival time. Every streaming client (the CLI's runner, the benchmarks, the
 * tests) is built on it, so they all speak the wire protocol the same way.
 */
import { CTRL_EOS } from "../protocol/protocol.ts";
import { frameDueMs } from "./pacing.ts";
import { type PacingClock, SHARED_PACING_CLOCK } from "./pacing_clock.ts";

/** How long to wait for the WebSocket upgrade before giving up. */
export const CONNECT_TIMEOUT_MS = 10_000;

const EOS_BYTES = new TextEncoder().encode(CTRL_EOS);

export interface OpenOptions {
  /** Sent as `?token=` (the header form goes in `headers`). */
  token?: string;
  protocols?: string | string[];
  /** Extra handshake headers (Authorization, Origin, X-Forwarded-For …). */
  headers?: HeadersInit;
  timeoutMs?: number;
}

/** A server message as it arrived: parsed JSON, or null when the text was not JSON. */
export interface Received {
  message: Record<string, unknown> | null;
  text: string;
  /** performance.now() at arrival. */
  at: number;
}

export interface CloseRecord {
  code: number;
  reason: string;
  at: number;
}

export interface PacedSend {
  /** Bytes per frame (default 640 = 20 ms). */
  frameBytes?: number;
  /** 1 = real time, 10 = ten times faster, 0 = unpaced (default). */
  rtf?: number;
  /** Sending stops early (without EOS) once aborted. */
  signal?: AbortSignal;
  /** The paced clock's origin (performance.now()); default: when sending starts. */
  startMs?: number;
  /** Bytes already sent on that clock, so several calls pace as one continuous stream. */
  offsetBytes?: number;
  /** After each frame: the clip bytes sent so far and when. */
  onFrame?: (sentBytes: number, at: number) => void;
  /** The timer frames wait on (default: the one every paced send in the process shares). */
  clock?: PacingClock;
}

export interface PacedResult {
  bytesSent: number;
  /** How far behind its schedule sending fell at worst (a loaded client machine). */
  maxSlipMs: number;
}

/** The URL with `token` added as a query parameter (other parameters kept). */
export function withToken(url: string, token: string | undefined): string {
  if (token === undefined) return url;
  const u = new URL(url);
  u.searchParams.set("token", token);
  return u.toString();
}

/**
 * A WebSocket to `url` with `token`, subprotocols and headers; binary frames arrive as
 * ArrayBuffers. Throws on a malformed URL.
 */
function createWebSocket(url: string, opts: OpenOptions): WebSocket {
  const ws = new WebSocket(withToken(url, opts.token), {
    protocols: opts.protocols,
    headers: opts.headers,
  });
  ws.binaryType = "arraybuffer";
  return ws;
}

/**
 * Resolves once `ws` is open; rejects with why not (refused upgrade, unreachable, no upgrade
 * within the timeout).
 */
function whenOpen(ws: WebSocket, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        ws.close();
      } catch { /* not open */ }
      reject(new Error(`no WebSocket upgrade within ${timeoutMs} ms`));
    }, timeoutMs);
    ws.addEventListener("open", () => {
      clearTimeout(timer);
      resolve();
    }, { once: true });
    ws.addEventListener("error", (e) => {
      clearTimeout(timer);
      reject(new Error((e as ErrorEvent).message || "connection failed"));
    }, { once: true });
  });
}

/** Opens a bare WebSocket (for clients that handle its events themselves). */
export async function openWebSocket(url: string, opts: OpenOptions = {}): Promise<WebSocket> {
  const ws = createWebSocket(url, opts);
  await whenOpen(ws, opts.timeoutMs ?? CONNECT_TIMEOUT_MS);
  return ws;
}

export class StreamSocket {
  /** Every server message so far, in order. */
  readonly received: Received[] = [];
  /** Set once the close completes (either side). */
  closeRecord: CloseRecord | null = null;
  /** Resolves with the close, whoever closed. */
  readonly closed: Promise<CloseRecord>;
  #listeners: ((r: Received) => void)[] = [];
  #changed: (() => void)[] = [];

  /** performance.now() when the upgrade completed. */
  openedAt = 0;

  /** Handlers go on before the upgrade completes, so no message that follows it is missed. */
  private constructor(readonly ws: WebSocket) {
    const closed = Promise.withResolvers<CloseRecord>();
    this.closed = closed.promise;
    ws.onmessage = (e) => {
      if (typeof e.data !== "string") return;
      const r: Received = { message: parseJson(e.data), text: e.data, at: performance.now() };
      this.received.push(r);
      for (const l of this.#listeners) l(r);
      this.#notify();
    };
    ws.onclose = (e) => {
      this.closeRecord = { code: e.code, reason: e.reason, at: performance.now() };
      closed.resolve(this.closeRecord);
      this.#notify();
    };
    // A failed connection also closes; the close is what callers watch.
    ws.onerror = () => {};
  }

  /**
   * Connects; rejects with why not (refused upgrade, unreachable, malformed URL, no upgrade
   * within the timeout).
   */
  static async open(url: string, opts: OpenOptions = {}): Promise<StreamSocket> {
    const socket = new StreamSocket(createWebSocket(url, opts));
    await whenOpen(socket.ws, opts.timeoutMs ?? CONNECT_TIMEOUT_MS);
    socket.openedAt = performance.now();
    return socket;
  }

  get isOpen(): boolean {
    return this.ws.readyState === WebSocket.OPEN;
  }

  /**
   * Called for each server message as it arrives (after it is kept in `received`); messages
   * that arrived before the listener was added are replayed to it first.
   */
  onMessage(listener: (r: Received) => void): void {
    for (const r of this.received) listener(r);
    this.#listeners.push(listener);
  }

  /** Server messages of one `type`. */
  ofType(type: string): Received[] {
    return this.received.filter((r) => r.message?.type === type);
  }

  /** The texts of the partials, in order. */
  get partials(): string[] {
    return this.ofType("partial").map((r) => String(r.message!.text ?? ""));
  }

  /** The texts of the finals, in order. */
  get finals(): string[] {
    return this.ofType("final").map((r) => String(r.message!.text ?? ""));
  }

  /** The errors, in order; text that was not JSON counts as `client_bad_json`. */
  get errors(): { code: string; message: string }[] {
    return this.received.flatMap((r) => {
      if (r.message === null) return [{ code: "client_bad_json", message: `not JSON: ${r.text}` }];
      if (r.message.type !== "error") return [];
      return [{ code: String(r.message.code), message: String(r.message.message ?? "") }];
    });
  }

  /** One frame as it is: bytes go out binary, a string as a text frame. */
  send(frame: Uint8Array | string): void {
    this.ws.send(frame);
  }

  /** End of utterance, as a binary frame (default) or a text frame. */
  sendEos(as: "binary" | "text" = "binary"): void {
    this.ws.send(as === "text" ? CTRL_EOS : EOS_BYTES);
  }

  /**
   * Sends `pcm` in frames like a microphone would: a frame goes out once its audio has been
   * "recorded" at `rtf`. Stops early when the socket closes or `signal` aborts.
   */
  async sendPcm(pcm: Uint8Array, opts: PacedSend = {}): Promise<PacedResult> {
    const frameBytes = opts.frameBytes ?? 640;
    const rtf = opts.rtf ?? 0;
    const start = opts.startMs ?? performance.now();
    const offset = opts.offsetBytes ?? 0;
    let pos = 0;
    let maxSlipMs = 0;
    const clock = opts.clock ?? SHARED_PACING_CLOCK;
    while (pos < pcm.length && this.isOpen && !opts.signal?.aborted) {
      const n = Math.min(frameBytes, pcm.length - pos);
      const due = frameDueMs(start, offset + pos + n, rtf);
      const wait = due - performance.now();
      if (wait > 0) await clock.until(due, opts.signal);
      else maxSlipMs = Math.max(maxSlipMs, -wait);
      if (!this.isOpen || opts.signal?.aborted) break;
      this.ws.send(pcm.subarray(pos, pos + n));
      pos += n;
      opts.onFrame?.(pos, performance.now());
    }
    return { bytesSent: pos, maxSlipMs };
  }

  /**
   * Resolves true once `done()` holds (checked on every message and on the close), false after
   * `timeoutMs` (Infinity: never) or once the socket closed without it.
   */
  waitFor(done: () => boolean, timeoutMs: number): Promise<boolean> {
    return new Promise((resolve) => {
      const check = () => {
        const ok = done();
        if (!ok && this.closeRecord === null) return;
        clearTimeout(timer);
        this.#changed = this.#changed.filter((c) => c !== check);
        resolve(ok);
      };
      // An endless wait (Infinity) has no timer: setTimeout would fire it at once.
      const timer = Number.isFinite(timeoutMs)
        ? setTimeout(() => {
          this.#changed = this.#changed.filter((c) => c !== check);
          resolve(done());
        }, timeoutMs)
        : undefined;
      this.#changed.push(check);
      check();
    });
  }

  /**
   * Closes from our side (no code: a close frame without a status); resolves with the close, or
   * null if none completes within `timeoutMs` (Infinity: waits for it).
   */
  async close(code?: number, reason?: string, timeoutMs = 3_000): Promise<CloseRecord | null> {
    if (this.ws.readyState === WebSocket.OPEN || this.ws.readyState === WebSocket.CONNECTING) {
      this.ws.close(code, reason);
    }
    if (!Number.isFinite(timeoutMs)) return await this.closed;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<null>((r) => timer = setTimeout(() => r(null), timeoutMs));
    const got = await Promise.race([this.closed, late]);
    clearTimeout(timer);
    return got;
  }

  #notify(): void {
    for (const c of [...this.#changed]) c();
  }
}

function parseJson(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null ? v : null;
  } catch {
    return null;
  }
}
