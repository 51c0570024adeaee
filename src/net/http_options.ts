/** The shape of an HTTP server built on `serveHttp`: its handler and its limits. */
import type { DropReason } from "./drop_reasons.ts";

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
