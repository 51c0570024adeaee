/**
 * One accepted connection of the HTTP server: its requests in turn under the head, body and
 * keep-alive deadlines, each handed to the handler as a `Request` whose signal aborts when the
 * client goes away, or the WebSocket it was upgraded to. It stays one class because every step
 * reads and sets the same connection state (the stage it is in, its timer, its abort signal).
 */
import { BodyPace } from "./body_pace.ts";
import { ConnReader } from "./conn_reader.ts";
import { linger, LINGER_MS, safeClose, withDeadline, writeAll } from "./conn_io.ts";
import type { DropReason } from "./drop_reasons.ts";
import { type BodyEnd, chunkedBody, lengthBody } from "./http_body.ts";
import {
  bodyFraming,
  findHeadEnd,
  leadingBlankLines,
  parseRequestHead,
  type RequestHead,
  requestUrl,
  wantsKeepAlive,
} from "./http_head.ts";
import type { Handler, HttpServerOptions } from "./http_options.ts";
import { cannedResponse, CONTINUE, switchingProtocols } from "./http_response.ts";
import { PacedReader } from "./paced_reader.ts";
import { writeResponse } from "./response_writer.ts";
import type { SocketEnd } from "./ws_socket.ts";
import { allowUpgrade, takeUpgrade } from "./ws_upgrade.ts";

/** What a connection needs of the server that accepted it. */
export interface ConnectionHost {
  readonly addr: Deno.NetAddr;
  readonly options: Required<HttpServerOptions>;
  readonly handler: Handler;
  /** Shutting down: no new request is read. */
  readonly closing: boolean;
  /** Counts (and may log) a connection the layer refused or ended itself. */
  drop(reason: DropReason, client: string, detail: string): void;
}

type State = "head" | "handler" | "responding" | "upgraded" | "done";

/** One accepted connection: its requests in turn, or the WebSocket it became. */
export class HttpConnection {
  readonly #server: ConnectionHost;
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

  constructor(server: ConnectionHost, conn: Deno.Conn, remote: Deno.NetAddr) {
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
        // One read can bring a whole head past the cap: refused as the same head sent slowly is.
        if (end > maxHeadBytes) {
          await this.#refuse(431, "head_too_large", `request head over ${maxHeadBytes} bytes`);
          return null;
        }
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
    const abort = new AbortController();
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
    }
    let req: Request;
    try {
      req = new Request(url, {
        method: head.method,
        headers,
        body,
        signal: abort.signal,
        // @ts-ignore: `duplex` is required for stream bodies but missing from Deno's RequestInit
        duplex: "half",
      });
    } catch {
      // Fetch forbids CONNECT, TRACE and TRACK, and a body on GET or HEAD in any letter case
      // ("gEt" is GET to it): such a request is answered, not dropped without a word.
      await this.#refuse(400, "bad_request", `a ${head.method} request Deno cannot represent`);
      return "close";
    }
    this.#state = "handler";
    this.#responseStarted = false;
    this.#abort = abort;
    if (framing.kind === "none") this.#watchForHangUp(abort);
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
        await this.#writeRaw(switchingProtocols(upgrade.accept, upgrade.protocol));
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
    await writeResponse(res, head, keepAlive, (bytes) => this.#writeRaw(bytes));
    if (!keepAlive) {
      if (bodyState.end === "pending" || bodyState.end === "abandoned") await linger(this.#conn);
      return "close";
    }
    return "keep";
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
