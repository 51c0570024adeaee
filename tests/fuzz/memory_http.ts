/**
 * One connection of our HTTP layer (`HttpConnection`) run over a `MemoryConn`: the bytes a client
 * sent go in, the answers come out as a list of statuses. No socket, no listener, no timer left
 * running. The client either closes its side as soon as it has sent everything, or (`holdOpen`)
 * stays until the layer has done all it can with what it got, then closes.
 */
import type { DropReason } from "../../src/net/drop_reasons.ts";
import { type ConnectionHost, HttpConnection } from "../../src/net/http_connection.ts";
import type { Handler, HttpServerOptions } from "../../src/net/http_options.ts";
import { setImmediate } from "node:timers";
import { MemoryConn } from "./memory_conn.ts";
import { TEST_HTTP_OPTIONS } from "../net/raw_http.ts";

export interface Served {
  /** The status of every answer, in order (100 Continue and 101 included). */
  statuses: number[];
  /** What the layer counted as refused or ended by itself. */
  drops: DropReason[];
  /** What handlers threw (the client got a 500). */
  errors: unknown[];
  /** The bytes written after a 101 (the WebSocket's frames). */
  afterUpgrade: Uint8Array;
  /** Whether the layer closed the connection. */
  closed: boolean;
}

export const MEMORY_HTTP_OPTIONS: Required<HttpServerOptions> = {
  ...TEST_HTTP_OPTIONS,
  port: 8000,
  maxHeadBytes: 32 * 1024,
  onDrop: () => {},
  onError: () => {},
};

export async function serveBytes(
  input: Uint8Array,
  cuts: readonly number[],
  handler: Handler,
  options: Partial<HttpServerOptions> = {},
  opts: { holdOpen?: boolean } = {},
): Promise<Served> {
  const conn = new MemoryConn(input, cuts, opts);
  const drops: DropReason[] = [];
  const errors: unknown[] = [];
  const host: ConnectionHost = {
    addr: conn.localAddr,
    options: {
      ...MEMORY_HTTP_OPTIONS,
      ...options,
      onDrop: (reason) => drops.push(reason),
      onError: (err) => errors.push(err),
    },
    handler,
    closing: false,
    drop: (reason) => drops.push(reason),
  };
  const connection = new HttpConnection(host, conn.asConn(), conn.remoteAddr);
  const ran = connection.run();
  if (opts.holdOpen) {
    // The memory connection answers in microtasks: turns of the event loop with a read waiting
    // at the end of the input mean the layer is idle, waiting for more. (setImmediate: nested
    // zero timeouts are clamped to milliseconds.)
    let done = false;
    ran.then(() => (done = true));
    for (let idle = 0; !done;) {
      await new Promise((r) => setImmediate(r));
      idle = conn.parked ? idle + 1 : 0;
      if (idle === 2) conn.hangUp();
    }
  }
  await ran;
  const { statuses, afterUpgrade } = parseResponses(conn.output);
  return { statuses, drops, errors, afterUpgrade, closed: conn.closed };
}

const latin1 = new TextDecoder("latin1");

/** Splits what the layer wrote into its answers (its bodies are Content-Length or chunked). */
export function parseResponses(out: Uint8Array): { statuses: number[]; afterUpgrade: Uint8Array } {
  const statuses: number[] = [];
  const text = latin1.decode(out);
  let at = 0;
  while (at < text.length) {
    const end = text.indexOf("\r\n\r\n", at);
    if (end < 0) throw new Error(`a partial answer: ${JSON.stringify(text.slice(at, at + 200))}`);
    const head = text.slice(at, end);
    const m = head.match(/^HTTP\/1\.1 (\d{3}) /);
    if (!m) throw new Error(`not a status line: ${JSON.stringify(head.slice(0, 200))}`);
    const status = Number(m[1]);
    statuses.push(status);
    at = end + 4;
    if (status === 101) return { statuses, afterUpgrade: out.subarray(at) };
    const length = head.match(/\r\ncontent-length: (\d+)/i);
    if (length) at += Number(length[1]);
    else if (/\r\ntransfer-encoding: chunked/i.test(head)) {
      for (;;) {
        const line = text.indexOf("\r\n", at);
        const size = parseInt(text.slice(at, line), 16);
        at = line + 2 + size + 2;
        if (size === 0) break;
      }
    }
  }
  return { statuses, afterUpgrade: new Uint8Array(0) };
}
