/**
 * An HTTP/1.1 server over `Deno.listen`, for the guarantees `Deno.serve` does not give:
 * every connection is admitted against a total and a per-address cap before a byte is read;
 * the request head must arrive within a deadline, a body at a minimum pace, the next request
 * on a kept-alive connection within an idle timeout; an accept error (out of file descriptors)
 * is waited out, never fatal; shutdown answers what is still waiting with 503 and closes every
 * connection. Handlers keep `Deno.serve`'s shape: `(req, { remoteAddr }) => Response`, with
 * `req.signal` aborted when the client goes away.
 */
import { BodyPace } from "./body_pace.ts";
import { ConnReader } from "./conn_reader.ts";
import { ConnectionTable } from "./connection_table.ts";
import { type BodyEnd, chunkedBody, lengthBody } from "./http_body.ts";
import {
  bodyFraming,
  findHeadEnd,
  leadingBlankLines,
  parseRequestHead,
  type RequestHead,
  wantsKeepAlive,
} from "./http_head.ts";
import {
  bodyless,
  cannedResponse,
  chunkFrame,
  type Framing,
  LAST_CHUNK,
  responseHead,
} from "./http_response.ts";
import { PacedReader } from "./paced_reader.ts";
import type { DropReason } from "./drop_reasons.ts";
import type { SocketEnd } from "./ws_socket.ts";
import { allowUpgrade, takeUpgrade } from "./ws_upgrade.ts";

export interface ServeInfo {
  remoteAddr: Deno.NetAddr;
}

export type Handler = (req: Request, info: ServeInfo) => Response | Promise<Response>;

export interface HttpServerOptions {
  hostname: string;
  port: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  /** From accept (or the first byte of a kept-alive request) to the end of the head. */
  headerTimeoutMs: number;
  /** Longest wait for the next body byte, and the grace before the minimum pace applies. */
  bodyTimeoutMs: number;
  bodyMinBytesPerS: number;
  /** Longest wait for the next request on a kept-alive connection. */
  keepAliveTimeoutMs: number;
  /** Largest request head (request line and headers) → 431. */
  maxHeadBytes?: number;
  /** The layer refused or ended a connection (for counters and rate-limited logs). */
  onDrop?(reason: DropReason, client: string, detail: string): void;
  /** A handler threw; the client got a 500. */
  onError?(err: unknown): void;
}

export interface HttpServer {
  readonly addr: Deno.NetAddr;
  /** Resolves when the listener is closed and every connection is gone. */
  readonly finished: Promise<void>;
  readonly openConnections: number;
  /** Stops accepting; open connections carry on. */
  stopAccepting(): void;
  /** Stops accepting, answers waiting requests with 503, closes every connection. */
  close(): Promise<void>;
}

const DEFAULT_MAX_HEAD = 32 * 1024;
/** Refusals being written at once; past this a refused connection is just closed. */
const MAX_REFUSING = 32;
/** Time a refused or finished connection is read and drained so the client sees our answer. */
const LINGER_MS = 500;
const LINGER_BYTES = 1024 * 1024;

export function serveHttp(options: HttpServerOptions, handler: Handler): HttpServer {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  return new Server(listener, options, handler);
}

class Server implements HttpServer {
  readonly addr: Deno.NetAddr;
  readonly finished: Promise<void>;
  readonly options: Required<HttpServerOptions>;
  readonly handler: Handler;
  readonly table: ConnectionTable;
  readonly connections = new Set<HttpConnection>();
  readonly #listener: Deno.Listener;
  #accepting = true;
  #closing = false;
  #refusing = 0;
  #acceptLoop: Promise<void>;
  #done = Promise.withResolvers<void>();

  constructor(listener: Deno.Listener, options: HttpServerOptions, handler: Handler) {
    this.#listener = listener;
    this.addr = listener.addr as Deno.NetAddr;
    this.options = {
      maxHeadBytes: DEFAULT_MAX_HEAD,
      onDrop: () => {},
      onError: (err) => console.error(err),
      ...options,
    };
    this.handler = handler;
    this.table = new ConnectionTable(options.maxConnections, options.maxConnectionsPerClient);
    this.finished = this.#done.promise;
    this.#acceptLoop = this.#accept();
  }

  get openConnections(): number {
    return this.connections.size;
  }

  get closing(): boolean {
    return this.#closing;
  }

  drop(reason: DropReason, client: string, detail: string): void {
    try {
      this.options.onDrop(reason, client, detail);
    } catch {
      // A counter must not take a connection down with it.
    }
  }

  async #accept(): Promise<void> {
    let backoff = 0;
    while (this.#accepting) {
      let conn: Deno.Conn;
      try {
        conn = await this.#listener.accept();
        backoff = 0;
      } catch (err) {
        if (!this.#accepting) break;
        // Out of descriptors (EMFILE, ENFILE) or a connection reset before accept: the
        // listener is fine, so wait a little for descriptors to free and go on.
        backoff = Math.min(1000, backoff === 0 ? 10 : backoff * 2);
        this.drop("accept_error", "listener", (err as Error).message);
        await new Promise((r) => setTimeout(r, backoff));
        continue;
      }
      this.#admit(conn);
    }
  }

  #admit(conn: Deno.Conn): void {
    const remote = conn.remoteAddr as Deno.NetAddr;
    const client = remote.hostname;
    const refusal = this.#closing ? "shutdown" : this.table.admit(client);
    if (refusal !== null) {
      this.drop(refusal, client, refusal === "shutdown" ? "" : refusalDetail(this.table, refusal));
      this.#refuse(conn, refusal);
      return;
    }
    try {
      (conn as Deno.TcpConn).setNoDelay?.(true);
    } catch {
      // Not TCP, or already reset.
    }
    const c = new HttpConnection(this, conn, remote);
    this.connections.add(c);
    c.done.then(() => {
      this.connections.delete(c);
      this.table.release(client);
      if (!this.#accepting && this.connections.size === 0) this.#done.resolve();
    });
    c.run();
  }

  /** Answers 503 to a connection over a cap and closes it, within a bounded time. */
  async #refuse(conn: Deno.Conn, reason: DropReason): Promise<void> {
    if (this.#refusing >= MAX_REFUSING) {
      safeClose(conn);
      return;
    }
    this.#refusing++;
    try {
      const message = reason === "max_connections_per_client"
        ? "Too many connections from your address; retry later"
        : reason === "shutdown"
        ? "The server is shutting down"
        : "The server has too many open connections; retry later";
      await withDeadline(
        writeAll(conn, cannedResponse(503, message, { "retry-after": "1" })),
        LINGER_MS,
        conn,
      );
      await linger(conn);
    } catch {
      // The client went away first.
    } finally {
      safeClose(conn);
      this.#refusing--;
    }
  }

  stopAccepting(): void {
    if (!this.#accepting) return;
    this.#accepting = false;
    try {
      this.#listener.close();
    } catch {
      // already closed
    }
    if (this.connections.size === 0) this.#done.resolve();
  }

  async close(): Promise<void> {
    this.#closing = true;
    this.stopAccepting();
    await this.#acceptLoop;
    await Promise.all([...this.connections].map((c) => c.shutdown()));
    if (this.connections.size === 0) this.#done.resolve();
    await this.finished;
  }
}

function refusalDetail(table: ConnectionTable, refusal: DropReason): string {
  return refusal === "max_connections"
    ? `${table.open} connections open (the cap is ${table.maxTotal})`
    : `the cap per address is ${table.maxPerClient}`;
}

type State = "head" | "handler" | "responding" | "upgraded" | "done";

/** One accepted connection: its requests in turn, or the WebSocket it became. */
class HttpConnection {
  readonly #server: Server;
  readonly #conn: Deno.Conn;
  readonly #remote: Deno.NetAddr;
  readonly #reader: ConnReader;
  #state: State = "head";
  #timer?: ReturnType<typeof setTimeout>;
  /** Why the layer closed the connection itself, once it has. */
  #dropped: DropReason | null = null;
  #closed = false;
  #responseStarted = false;
  #abort: AbortController | null = null;
  #upgradeEnd = Promise.withResolvers<void>();
  #endSocket: ((code: number, reason: string) => void) | null = null;
  #shutdownAnswer: Promise<void> | null = null;
  readonly #done = Promise.withResolvers<void>();
  /**
   * Resolves once the connection is closed and its slot may go: at the end of `run`, or when
   * shutdown has answered and closed it while a handler still holds its request.
   */
  readonly done = this.#done.promise;

  constructor(server: Server, conn: Deno.Conn, remote: Deno.NetAddr) {
    this.#server = server;
    this.#conn = conn;
    this.#remote = remote;
    this.#reader = new ConnReader(conn);
  }

  get #client(): string {
    return this.#remote.hostname;
  }

  async run(): Promise<void> {
    try {
      let first = true;
      for (;;) {
        const head = await this.#readHead(first);
        if (!head) return;
        first = false;
        const next = await this.#serve(head);
        if (next === "upgraded") {
          await this.#upgradeEnd.promise;
          return;
        }
        if (next === "close") return;
      }
    } catch {
      // A reset or a connection we closed under a read: the connection is over either way.
    } finally {
      this.#abort?.abort();
      this.#disarm();
      this.#state = "done";
      await this.#shutdownAnswer;
      this.#close();
      this.#done.resolve();
    }
  }

  /** Closes after `ms` unless disarmed first, counting why. */
  #arm(ms: number, reason: DropReason, detail: string): void {
    this.#disarm();
    this.#timer = setTimeout(() => {
      this.#dropped = reason;
      this.#server.drop(reason, this.#client, detail);
      this.#close();
    }, ms);
  }

  #disarm(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    safeClose(this.#conn);
  }

  async #readHead(first: boolean): Promise<RequestHead | null> {
    const { headerTimeoutMs, keepAliveTimeoutMs, maxHeadBytes } = this.#server.options;
    this.#state = "head";
    if (this.#server.closing) return null;
    if (!first && this.#reader.buffered.length === 0) {
      this.#arm(
        keepAliveTimeoutMs,
        "keepalive_timeout",
        `idle for ${keepAliveTimeoutMs / 1000} s between requests`,
      );
      if (!(await this.#reader.fill())) return null;
    }
    this.#arm(
      headerTimeoutMs,
      "header_timeout",
      `no complete request head within ${headerTimeoutMs / 1000} s`,
    );
    let searched = 0;
    for (;;) {
      this.#reader.consume(leadingBlankLines(this.#reader.buffered));
      const b = this.#reader.buffered;
      const end = findHeadEnd(b, searched);
      if (end >= 0) {
        this.#disarm();
        const parsed = parseRequestHead(b.subarray(0, end));
        this.#reader.consume(end);
        if (!parsed.ok) {
          await this.#refuse(400, "bad_request", parsed.error);
          return null;
        }
        return parsed.head;
      }
      searched = b.length;
      if (b.length > maxHeadBytes) {
        this.#disarm();
        await this.#refuse(431, "head_too_large", `request head over ${maxHeadBytes} bytes`);
        return null;
      }
      if (!(await this.#reader.fill())) return null;
    }
  }

  /** Answers with a canned error, counted, and ends the connection. */
  async #refuse(status: number, reason: DropReason, detail: string): Promise<void> {
    this.#server.drop(reason, this.#client, detail);
    await this.#writeRaw(cannedResponse(status, `${reason.replaceAll("_", " ")}: ${detail}`));
    await linger(this.#conn);
  }

  /** Writes within the body timeout; a client not reading is dropped. */
  async #writeRaw(bytes: Uint8Array): Promise<void> {
    const ms = this.#server.options.bodyTimeoutMs;
    let late = false;
    const timer = setTimeout(() => {
      late = true;
      this.#server.drop("write_timeout", this.#client, `a response unread for ${ms / 1000} s`);
      this.#close();
    }, ms);
    try {
      await writeAll(this.#conn, bytes);
    } catch (err) {
      if (!late) throw err;
      throw new Error("write timeout");
    } finally {
      clearTimeout(timer);
    }
  }

  async #serve(head: RequestHead): Promise<"keep" | "close" | "upgraded"> {
    const headers = new Headers();
    try {
      for (const [name, value] of head.headers) headers.append(name, value);
    } catch {
      await this.#refuse(400, "bad_request", "a header Deno cannot represent");
      return "close";
    }
    const url = requestUrl(head.target, headers, this.#server.addr);
    if (!url) {
      await this.#refuse(400, "bad_request", "malformed request target or Host");
      return "close";
    }
    const framing = bodyFraming(headers);
    if (framing.kind === "invalid") {
      await this.#refuse(400, "bad_request", framing.error);
      return "close";
    }
    this.#state = "handler";
    this.#responseStarted = false;
    const abort = new AbortController();
    this.#abort = abort;
    const { bodyTimeoutMs, bodyMinBytesPerS } = this.#server.options;
    // An object, not a variable: it is set from the body stream's callbacks.
    const bodyState: { end: BodyEnd | "none" | "pending" } = {
      end: framing.kind === "none" ? "none" : "pending",
    };
    const onBodyEnd = (end: BodyEnd) => {
      bodyState.end = end;
      if (end === "complete") this.#watchForHangUp(abort);
    };
    let body: ReadableStream<Uint8Array> | null = null;
    const carriesBody = head.method !== "GET" && head.method !== "HEAD";
    if (framing.kind !== "none" && carriesBody) {
      const paced = new PacedReader(
        this.#reader,
        new BodyPace(bodyTimeoutMs, bodyMinBytesPerS),
        () => {
          this.#dropped = "body_timeout";
          this.#server.drop(
            "body_timeout",
            this.#client,
            `request body slower than ${bodyMinBytesPerS} bytes/s or paused ${
              bodyTimeoutMs / 1000
            } s`,
          );
          this.#close();
        },
      );
      const expectsContinue = headers.get("expect")?.toLowerCase() === "100-continue";
      const continueFirst = async () => {
        if (expectsContinue) await this.#writeRaw(CONTINUE);
      };
      body = framing.kind === "length"
        ? lengthBody(paced, framing.length, onBodyEnd, continueFirst)
        : chunkedBody(paced, onBodyEnd, continueFirst);
    } else if (framing.kind === "none") {
      this.#watchForHangUp(abort);
    }
    const req = new Request(url, {
      method: head.method,
      headers,
      body,
      signal: abort.signal,
      // @ts-ignore: `duplex` is required for stream bodies but missing from Deno's RequestInit
      duplex: "half",
    });
    allowUpgrade(req);

    let res: Response;
    try {
      res = await this.#server.handler(req, { remoteAddr: this.#remote });
    } catch (err) {
      this.#server.options.onError(err);
      res = new Response("Internal Server Error\n", {
        status: 500,
        headers: { "content-type": "text/plain" },
      });
    }
    const upgrade = takeUpgrade(res);
    if (this.#closed || this.#shutdownAnswer) {
      // Too late to answer: a socket the handler was promised ends before it opens.
      upgrade?.socket.terminate(1006, "connection gone before the upgrade");
      await res.body?.cancel().catch(() => {});
      return "close";
    }
    if (upgrade) {
      this.#responseStarted = true;
      this.#state = "upgraded";
      this.#endSocket = (code, reason) => upgrade.socket.terminate(code, reason, "aborted");
      try {
        await this.#writeRaw(
          new TextEncoder().encode(
            "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
              `sec-websocket-accept: ${upgrade.accept}\r\n\r\n`,
          ),
        );
      } catch (err) {
        upgrade.socket.terminate(1006, "connection gone before the upgrade");
        throw err;
      }
      const started = upgrade.socket.start(this.#conn, this.#reader, (how: SocketEnd) => {
        if (how === "no_pong") {
          this.#server.drop("ws_no_pong", this.#client, "a WebSocket peer stopped answering pings");
        } else if (how === "protocol_error") {
          this.#server.drop("ws_protocol_error", this.#client, "a WebSocket frame broke RFC 6455");
        }
        this.#upgradeEnd.resolve();
      });
      if (!started) this.#upgradeEnd.resolve();
      return "upgraded";
    }
    // A body the handler left unread (it may be mid-upload) ends the connection after the
    // answer; the linger below lets the client read that answer.
    const reusable = bodyState.end === "none" || bodyState.end === "complete";
    // A handler ends the connection after its answer with `Connection: close` (an auth refusal:
    // the client is answered, and whatever it sends next is not read).
    const handlerCloses = /\bclose\b/i.test(res.headers.get("connection") ?? "");
    const keepAlive = reusable && !handlerCloses && wantsKeepAlive(head.minor, headers) &&
      !this.#server.closing && !abort.signal.aborted;
    this.#state = "responding";
    this.#responseStarted = true;
    await this.#respond(res, head, keepAlive);
    if (!keepAlive) {
      if (bodyState.end === "pending" || bodyState.end === "abandoned") await linger(this.#conn);
      return "close";
    }
    return "keep";
  }

  async #respond(res: Response, head: RequestHead, keepAlive: boolean): Promise<void> {
    const noBody = bodyless(res.status, head.method);
    const reader = noBody ? null : res.body?.getReader() ?? null;
    if (noBody) await res.body?.cancel().catch(() => {});
    try {
      let first: Uint8Array | null = null;
      let framing: Framing = { kind: noBody ? "none" : "length", length: 0 };
      let more = false;
      if (reader) {
        const a = await reader.read();
        if (!a.done) {
          first = a.value;
          const b = await reader.read();
          if (b.done) framing = { kind: "length", length: first.length };
          else {
            more = true;
            framing = head.minor === 1 ? { kind: "chunked" } : { kind: "close" };
            first = concatTwo(first, b.value);
          }
        }
      }
      const headBytes = responseHead(
        res.status,
        res.statusText,
        res.headers,
        framing,
        keepAlive && framing.kind !== "close",
      );
      const chunked = framing.kind === "chunked";
      if (first && !chunked) await this.#writeRaw(concatTwo(headBytes, first));
      else if (first) await this.#writeRaw(concatTwo(headBytes, chunkFrame(first)));
      else await this.#writeRaw(headBytes);
      while (more && reader) {
        const r = await reader.read();
        if (r.done) break;
        if (r.value.length === 0) continue;
        await this.#writeRaw(chunked ? chunkFrame(r.value) : r.value);
      }
      if (chunked) await this.#writeRaw(LAST_CHUNK);
    } finally {
      reader?.cancel().catch(() => {});
    }
  }

  /**
   * Once the request is read, a read of the connection notices the client going away (and
   * aborts `req.signal`); bytes it brings are the next request's, kept for it.
   */
  #watchForHangUp(abort: AbortController): void {
    if (this.#reader.reading || this.#closed) return;
    if (this.#reader.buffered.length > this.#server.options.maxHeadBytes) return;
    this.#reader.fill().then(
      (more) => {
        if (!more) abort.abort(new DOMException("the client went away", "AbortError"));
        else if (this.#state === "handler" || this.#state === "responding") {
          this.#watchForHangUp(abort);
        }
      },
      () => abort.abort(new DOMException("the client went away", "AbortError")),
    );
  }

  /** Server shutdown: 503 to a request still waiting for its answer, then close. */
  shutdown(): Promise<void> {
    if (this.#state === "upgraded") {
      this.#endSocket?.(1001, "server shutting down");
      return this.#upgradeEnd.promise;
    }
    if (this.#state === "handler" && !this.#responseStarted) {
      this.#server.drop("shutdown", this.#client, "request unanswered at shutdown");
      this.#shutdownAnswer ??= withDeadline(
        this.#writeRaw(cannedResponse(503, "The server is shutting down")),
        LINGER_MS,
        this.#conn,
      ).catch(() => {}).finally(() => {
        this.#close();
        this.#done.resolve();
      });
      this.#abort?.abort(new DOMException("the server is shutting down", "AbortError"));
      return this.#shutdownAnswer;
    }
    if (this.#state === "head") this.#close();
    // A response being written gets a moment to finish.
    const t = setTimeout(() => this.#close(), LINGER_MS);
    return new Promise<void>((resolve) => {
      const check = () => {
        if (this.#state === "done") {
          clearTimeout(t);
          resolve();
        } else setTimeout(check, 20);
      };
      check();
    });
  }
}

const CONTINUE = new TextEncoder().encode("HTTP/1.1 100 Continue\r\n\r\n");

function requestUrl(target: string, headers: Headers, local: Deno.NetAddr): URL | null {
  try {
    if (target.startsWith("/")) {
      const host = headers.get("host") || `${local.hostname}:${local.port}`;
      return new URL(`http://${host}${target}`);
    }
    if (/^https?:\/\//i.test(target)) return new URL(target);
  } catch {
    return null;
  }
  return null;
}

async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Runs `p`, closing `conn` if it takes longer than `ms` (which ends `p` with an error). */
async function withDeadline<T>(p: Promise<T>, ms: number, conn: Deno.Conn): Promise<T> {
  const timer = setTimeout(() => safeClose(conn), ms);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closing a socket with unread input sends a reset, which can destroy our answer before the
 * client reads it. So: end our side, read and drop what the client still sends, for a short
 * bounded time, then close.
 */
async function linger(conn: Deno.Conn): Promise<void> {
  try {
    await conn.closeWrite();
  } catch {
    return;
  }
  const timer = setTimeout(() => safeClose(conn), LINGER_MS);
  try {
    const scratch = new Uint8Array(16 * 1024);
    let total = 0;
    while (total < LINGER_BYTES) {
      const n = await conn.read(scratch);
      if (n === null) break;
      total += n;
    }
  } catch {
    // closed by the timer
  } finally {
    clearTimeout(timer);
  }
}

function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
