/** One stream's WebSocket traffic per step, paced, through the server's own stack (src/server/socket_cost.ts). */
import assert from "node:assert/strict";
import { measureSocketCostPerStep, threadCpuMs } from "../../src/server/socket_cost.ts";

Deno.test("this thread's CPU time grows with work done on it, not with time asleep", async () => {
  const a = threadCpuMs();
  await new Promise((r) => setTimeout(r, 200));
  const asleep = threadCpuMs() - a;
  const b = threadCpuMs();
  let x = 0;
  const until = performance.now() + 100;
  while (performance.now() < until) x += Math.sqrt(x + 1);
  const busy = threadCpuMs() - b;
  assert.ok(x > 0);
  assert.ok(busy >= 50, `100 ms of work took ${busy} ms of CPU`);
  assert.ok(asleep < 50, `200 ms asleep took ${asleep} ms of CPU`);
});

Deno.test("socket cost: paced streams through the server's stack, a positive time per step", async () => {
  const opts = {
    framesPerStep: 12,
    frameBytes: 640,
    frameMs: 20,
    partialBytes: 100,
    streams: 4,
    durationMs: 500,
  };
  const t0 = performance.now();
  const ms = await measureSocketCostPerStep(opts);
  const took = performance.now() - t0;
  assert.ok(ms > 0 && Number.isFinite(ms), `${ms} ms`);
  // Paced in real time: half a second untimed, then the duration.
  assert.ok(took >= 1000, `took ${took} ms`);
  await assert.rejects(() => measureSocketCostPerStep({ ...opts, framesPerStep: 0 }), RangeError);
  await assert.rejects(() => measureSocketCostPerStep({ ...opts, streams: 0 }), RangeError);
});
