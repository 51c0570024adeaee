/** One stream's WebSocket traffic per step over loopback (src/server/socket_cost.ts). */
import assert from "node:assert/strict";
import { measureSocketCostPerStep } from "../../src/server/socket_cost.ts";

Deno.test("socket cost: a positive time per step, the loopback server closed after", async () => {
  const ms = await measureSocketCostPerStep({
    framesPerStep: 12,
    frameBytes: 640,
    partialBytes: 100,
    warmupSteps: 2,
    steps: 5,
    runs: 3,
  });
  assert.ok(ms > 0 && Number.isFinite(ms), `${ms} ms`);
  await assert.rejects(
    () =>
      measureSocketCostPerStep({
        framesPerStep: 0,
        frameBytes: 640,
        partialBytes: 100,
        warmupSteps: 0,
        steps: 1,
        runs: 1,
      }),
    RangeError,
  );
});
