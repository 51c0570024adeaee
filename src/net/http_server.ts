/**
 * An HTTP/1.1 server over `Deno.listen`, for the guarantees `Deno.serve` does not give:
 * every connection is admitted against a total and a per-address cap before a byte is read;
 * the request head must arrive within a deadline, a body at a minimum pace, the next request
 * on a kept-alive connection within an idle timeout; an accept error (out of file descriptors)
 * is waited out, never fatal; shutdown answers what is still waiting with 503 and closes every
 * connection. Handlers keep `Deno.serve`'s shape: `(req, { remoteAddr }) => Response`, with
 * `req.signal` aborted when the client goes away. This file accepts and admits connections;
 * each one's requests are `HttpConnection`'s.
 */
import { linger, LINGER_MS, safeClose, withDeadline, writeAll } from "./conn_io.ts";
import { ConnectionTable } from "./connection_table.ts";
import type { DropReason } from "./drop_reasons.ts";
import { type ConnectionHost, HttpConnection } from "./http_connection.ts";
import type { Handler, HttpServerOptions } from "./http_options.ts";
import { cannedResponse } from "./http_response.ts";

export type { Handler, HttpServerOptions, ServeInfo } from "./http_options.ts";

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

export function serveHttp(options: HttpServerOptions, handler: Handler): HttpServer {
  const listener = Deno.listen({ hostname: options.hostname, port: options.port });
  return new Server(listener, options, handler);
}

class Server implements HttpServer, ConnectionHost {
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
