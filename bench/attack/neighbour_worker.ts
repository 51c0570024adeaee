/**
 * The neighbour in a worker of its own: the attacks' work on the main thread (80 MiB of frames,
 * 500 handshakes) must not delay the neighbour's sends or the times its partials arrive, or the
 * latency measured would be the harness's, not the server's.
 *
 * Messages in: {type: "start", url, clip, knobs, maxS}, then {type: "stop"}.
 * Message out: {type: "done", sessions, timeOrigin} (times in sessions are this worker's clock).
 */
/// <reference lib="deno.worker" />
import { streamUntilStopped } from "./neighbour_stream.ts";

const abort = new AbortController();

self.onmessage = async (e: MessageEvent) => {
  const m = e.data;
  if (m.type === "stop") {
    abort.abort();
    return;
  }
  if (m.type === "start") {
    const sessions = await streamUntilStopped(m.url, m.clip, m.knobs, m.maxS, abort.signal);
    self.postMessage({ type: "done", sessions, timeOrigin: performance.timeOrigin });
  }
};
