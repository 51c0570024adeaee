/** Raw TCP helpers for driving the HTTP layer byte by byte, as no HTTP client would. */
import type { DropReason } from "../../src/net/drop_reasons.ts";
import { type Handler, type HttpServerOptions, serveHttp } from "../../src/net/http_server.ts";

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const encoder = new TextEncoder();

export interface TestHttp extends AsyncDisposable {
  port: number;
  drops: { reason: DropReason; client: string }[];
  count(reason: DropReason): number;
  server: ReturnType<typeof serveHttp>;
}

/** Loopback, room for every test's connections, timeouts no test reaches unless it sets them. */
export const TEST_HTTP_OPTIONS = {
  hostname: "127.0.0.1",
  maxConnections: 100,
  maxConnectionsPerClient: 100,
  headerTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  bodyMinBytesPerS: 1,
  keepAliveTimeoutMs: 10_000,
};

/** Our HTTP layer on a free loopback port; short timeouts unless `options` says otherwise. */
export function startHttp(handler: Handler, options: Partial<HttpServerOptions> = {}): TestHttp {
  const drops: { reason: DropReason; client: string }[] = [];
  const server = serveHttp({
    ...TEST_HTTP_OPTIONS,
    port: 0,
    onDrop: (reason, client) => drops.push({ reason, client }),
    onError: () => {},
    ...options,
  }, handler);
  return {
    port: server.addr.port,
    drops,
    count: (reason) => drops.filter((d) => d.reason === reason).length,
    server,
    async [Symbol.asyncDispose]() {
      await server.close();
    },
  };
}

export function connect(port: number): Promise<Deno.TcpConn> {
  return Deno.connect({ hostname: "127.0.0.1", port });
}

export async function send(conn: Deno.Conn, text: string | Uint8Array): Promise<void> {
  const bytes = typeof text === "string" ? encoder.encode(text) : text;
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/**
 * Reads until the server closes the connection (or `limitMs` passes: then `closed` is false).
 * Returns what arrived and when the end came.
 */
export async function readToEnd(
  conn: Deno.Conn,
  limitMs: number,
): Promise<{ text: string; closed: boolean; ms: number }> {
  const t0 = performance.now();
  const chunks: Uint8Array[] = [];
  const timer = setTimeout(() => {
    try {
      conn.close();
    } catch {
      // already closed
    }
  }, limitMs);
  let closed = false;
  try {
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) {
        closed = true;
        break;
      }
      chunks.push(buf.slice(0, n));
    }
  } catch (err) {
    // A reset is the server closing too; our own close on the timer is not.
    closed = err instanceof Deno.errors.ConnectionReset;
  } finally {
    clearTimeout(timer);
  }
  try {
    conn.close();
  } catch {
    // already closed
  }
  const text = new TextDecoder().decode(
    chunks.reduce((a, b) => {
      const o = new Uint8Array(a.length + b.length);
      o.set(a);
      o.set(b, a.length);
      return o;
    }, new Uint8Array(0)),
  );
  return { text, closed, ms: performance.now() - t0 };
}

/** Reads one response head and a Content-Length body off a kept-alive connection. */
export async function readResponse(
  conn: Deno.Conn,
): Promise<{ status: number; head: string; body: string }> {
  let data = new Uint8Array(0);
  const buf = new Uint8Array(65536);
  for (;;) {
    const text = new TextDecoder("latin1").decode(data);
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const head = text.slice(0, end);
      const length = Number(head.match(/content-length: (\d+)/i)?.[1] ?? 0);
      if (data.length >= end + 4 + length) {
        return {
          status: Number(head.split(" ")[1]),
          head,
          body: new TextDecoder().decode(data.subarray(end + 4, end + 4 + length)),
        };
      }
    }
    const n = await conn.read(buf);
    if (n === null) throw new Error(`connection closed mid-response: ${text}`);
    const next = new Uint8Array(data.length + n);
    next.set(data);
    next.set(buf.subarray(0, n), data.length);
    data = next;
  }
}

export const GET = (path = "/", extra = "") =>
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${extra}\r\n`;
