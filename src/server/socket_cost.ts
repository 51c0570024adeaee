/**
 * What one live stream's WebSocket traffic costs the host per step: STEP_MS of audio in
 * frames of `frameBytes` every `frameMs`, and one partial of `partialBytes` back per step,
 * through the server's own HTTP and WebSocket stack (src/net, as /ws uses it) on this isolate.
 *
 * Live clients pace their frames, so each frame is its own read, its own wake-up of the event
 * loop and its own timers; a burst of frames read together costs a fraction of that per frame
 * (measured with bursts, a stream's host work was a quarter of what a served stream took). So
 * the clients here pace their frames in real time from a worker (a thread of their own), and
 * what is counted is this thread's CPU time while they send (`threadCpuMs`), over the steps
 * served. Takes about `durationMs`.
 */
import process from "node:process";
import { serveHttp } from "../net/http_server.ts";
import { upgradeWebSocket } from "../net/ws_upgrade.ts";
import type { PacedClientJob, PacedClientReport } from "./socket_cost_client.ts";

export interface SocketCostOptions {
  /** WebSocket frames one step brings (STEP_MS ÷ the frame length). */
  framesPerStep: number;
  frameBytes: number;
  /** A live client's frame length, ms: the pace the frames are sent at. */
  frameMs: number;
  /** The partial sent back each step. */
  partialBytes: number;
  /** Streams sending at once. */
  streams: number;
  /** How long they send (after half a second untimed), ms. */
  durationMs: number;
}

export const DEFAULT_SOCKET_COST: Omit<
  SocketCostOptions,
  "framesPerStep" | "frameBytes" | "frameMs"
> = {
  partialBytes: 400,
  streams: 8,
  durationMs: 2000,
};

/**
 * This thread's CPU time in ms: Linux's per-thread scheduler statistics (nanoseconds), or,
 * where there are none, the whole process's CPU time (every thread: an overestimate).
 */
export function threadCpuMs(): number {
  try {
    const ns = Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[0]);
    if (Number.isFinite(ns)) return ns / 1e6;
  } catch {
    // not Linux, or /proc not mounted
  }
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
}

/** Median ms of this thread's work for one stream's step of WebSocket traffic. */
export async function measureSocketCostPerStep(opts: SocketCostOptions): Promise<number> {
  if (
    !(opts.framesPerStep >= 1 && opts.frameMs > 0 && opts.streams >= 1 && opts.durationMs > 0)
  ) {
    throw new RangeError(
      "socket cost needs framesPerStep, frameMs, streams and a duration above 0",
    );
  }
  const partial = JSON.stringify({ type: "partial", text: "x".repeat(opts.partialBytes) });
  // The server end: counts each stream's frames and answers each full step with one partial.
  let received = 0;
  const server = serveHttp({
    hostname: "127.0.0.1",
    port: 0,
    maxConnections: opts.streams + 4,
    maxConnectionsPerClient: opts.streams + 4,
    headerTimeoutMs: 10_000,
    bodyTimeoutMs: 10_000,
    bodyMinBytesPerS: 1,
    keepAliveTimeoutMs: 10_000,
  }, (req) => {
    const upgrade = upgradeWebSocket(req, {
      maxBinaryBytes: opts.frameBytes + 1024,
      maxTextBytes: 4096,
      idleTimeoutMs: 30_000,
    });
    if (!upgrade.ok) return new Response(null, { status: 400 });
    let frames = 0;
    upgrade.socket.addEventListener("message", () => {
      received++;
      if (++frames % opts.framesPerStep === 0) upgrade.socket.send(partial);
    });
    return upgrade.response;
  });
  const worker = new Worker(new URL("./socket_cost_client.ts", import.meta.url), {
    type: "module",
  });
  try {
    let cpu0 = 0, frames0 = 0;
    const report = await new Promise<PacedClientReport>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<PacedClientReport | { type: "timing" }>) => {
        if (e.data.type === "timing") {
          cpu0 = threadCpuMs();
          frames0 = received;
        } else resolve(e.data);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(`the socket cost's clients failed: ${e.message}`));
      };
      worker.postMessage(
        {
          url: `ws://127.0.0.1:${server.addr.port}/`,
          streams: opts.streams,
          frameBytes: opts.frameBytes,
          frameMs: opts.frameMs,
          warmupMs: 500,
          durationMs: opts.durationMs,
        } satisfies PacedClientJob,
      );
    });
    const cpu = threadCpuMs() - cpu0;
    if (report.type === "failed") throw new Error(`the socket cost's clients: ${report.error}`);
    const steps = (received - frames0) / opts.framesPerStep;
    if (!(steps > 0)) throw new Error("the socket cost's clients sent no frames");
    return cpu / steps;
  } finally {
    worker.terminate();
    await server.close();
  }
}
