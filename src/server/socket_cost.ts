/**
 * What one live stream's WebSocket traffic costs the host per step: STEP_MS of audio in
 * frames of `frameBytes`, and one partial of `partialBytes` back, over a loopback WebSocket
 * served by Deno.serve like /ws. Both ends run in this isolate, so the time measured is the
 * two ends' work together (each frame framed, copied through the kernel and unframed once on
 * each side); the server's share is taken as half, each end doing the same work per frame.
 */

export interface SocketCostOptions {
  /** WebSocket frames one step brings (STEP_MS ÷ the frame length). */
  framesPerStep: number;
  frameBytes: number;
  /** The partial sent back each step. */
  partialBytes: number;
  /** Untimed steps first, then timed steps per run. */
  warmupSteps: number;
  steps: number;
  /** Runs; the median is kept. */
  runs: number;
}

export const DEFAULT_SOCKET_COST: Omit<SocketCostOptions, "framesPerStep" | "frameBytes"> = {
  partialBytes: 400,
  warmupSteps: 10,
  steps: 40,
  runs: 5,
};

/** Median ms of the server's end of one stream's step of WebSocket traffic. */
export async function measureSocketCostPerStep(opts: SocketCostOptions): Promise<number> {
  if (!(opts.framesPerStep >= 1 && opts.steps >= 1 && opts.runs >= 1)) {
    throw new RangeError("socket cost needs framesPerStep, steps and runs of at least 1");
  }
  const partial = JSON.stringify({ type: "partial", text: "x".repeat(opts.partialBytes) });
  // The server end: counts a step's frames and answers each full step with one partial.
  let received = 0;
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const { socket, response } = Deno.upgradeWebSocket(req);
    socket.binaryType = "arraybuffer";
    socket.onmessage = () => {
      if (++received % opts.framesPerStep === 0) socket.send(partial);
    };
    return response;
  });
  try {
    const ws = new WebSocket(`ws://127.0.0.1:${server.addr.port}/`);
    ws.binaryType = "arraybuffer";
    await new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error("loopback WebSocket for the socket cost did not open"));
    });
    const frame = new Uint8Array(opts.frameBytes);
    let partials = 0;
    let waiting: { until: number; resolve: () => void } | null = null;
    ws.onmessage = () => {
      partials++;
      if (waiting && partials >= waiting.until) waiting.resolve();
    };
    /** Sends `steps` steps of frames and resolves once all their partials came back. */
    const burst = (steps: number) =>
      new Promise<void>((resolve) => {
        waiting = { until: partials + steps, resolve };
        for (let s = 0; s < steps; s++) {
          for (let f = 0; f < opts.framesPerStep; f++) ws.send(frame);
        }
      });
    await burst(opts.warmupSteps);
    const perStep: number[] = [];
    for (let r = 0; r < opts.runs; r++) {
      const t0 = performance.now();
      await burst(opts.steps);
      perStep.push((performance.now() - t0) / opts.steps / 2);
    }
    ws.close();
    perStep.sort((a, b) => a - b);
    return perStep[Math.floor((perStep.length - 1) / 2)];
  } finally {
    await server.shutdown();
  }
}
