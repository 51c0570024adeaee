/// <reference lib="deno.worker" />
/**
 * The clients of src/server/socket_cost.ts, on a thread of their own: `streams` WebSockets
 * each sending a frame every `frameMs`, their starts spread over one frame. Tells the measuring
 * thread when the timed part starts, and when it is over.
 */

export interface PacedClientJob {
  url: string;
  streams: number;
  frameBytes: number;
  frameMs: number;
  /** Sent before the timed part starts (connections settle, code warms up). */
  warmupMs: number;
  durationMs: number;
}

export type PacedClientReport = { type: "done" } | { type: "failed"; error: string };

self.onmessage = async (e: MessageEvent<PacedClientJob>) => {
  const job = e.data;
  const sockets: WebSocket[] = [];
  try {
    for (let i = 0; i < job.streams; i++) {
      const ws = new WebSocket(job.url);
      ws.binaryType = "arraybuffer";
      await new Promise<void>((resolve, reject) => {
        ws.onopen = () => resolve();
        ws.onerror = () => reject(new Error("a loopback WebSocket did not open"));
      });
      sockets.push(ws);
    }
    const frame = new Uint8Array(job.frameBytes);
    const timers = sockets.map((ws, i) => {
      let timer: ReturnType<typeof setInterval> | undefined;
      const start = setTimeout(() => {
        timer = setInterval(() => ws.send(frame), job.frameMs);
      }, job.frameMs * i / job.streams);
      return () => {
        clearTimeout(start);
        clearInterval(timer);
      };
    });
    await new Promise((r) => setTimeout(r, job.warmupMs));
    self.postMessage({ type: "timing" });
    await new Promise((r) => setTimeout(r, job.durationMs));
    for (const stop of timers) stop();
    self.postMessage({ type: "done" } satisfies PacedClientReport);
  } catch (err) {
    self.postMessage({ type: "failed", error: (err as Error).message } satisfies PacedClientReport);
  } finally {
    for (const ws of sockets) ws.close();
  }
};
