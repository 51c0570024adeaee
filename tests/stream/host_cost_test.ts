/** One stream's host work per step (src/stream/host_cost.ts), through the real streaming code. */
import assert from "node:assert/strict";
import type { ServerMessage } from "../../src/protocol/protocol.ts";
import { measureHostCostPerStep } from "../../src/stream/host_cost.ts";
import { scriptedContext } from "../fuzz/scripted_model.ts";

/** The server's default live geometry: 2 s left, 240 ms step, 160 ms right, 10 ms frames. */
const CTX = scriptedContext({ chunkFrames: 24, leftFrames: 200, rightFrames: 16, subsampling: 8 });

Deno.test("host cost: every step's audio is decoded and answered with a partial", () => {
  const partials: ServerMessage[] = [];
  const ms = measureHostCostPerStep(CTX, {
    stepMs: 240,
    frameMs: 20,
    warmupSteps: 5,
    steps: 10,
    runs: 1,
    sent: (m) => partials.push(m),
  });
  assert.ok(ms > 0 && Number.isFinite(ms), `${ms} ms`);
  // 15 steps of 240 ms: the first chunk waits for 160 ms of right context, then one per step.
  assert.ok(partials.length >= 13, `${partials.length} partials`);
  assert.ok(partials.every((m) => m.type === "partial"));
  const last = partials.at(-1) as { text: string };
  assert.ok(last.text.startsWith("world world"), last.text);
});

Deno.test("host cost: the median of the runs' per-step time", () => {
  // Each run takes 10·(run + 1) ms of clock for its 10 steps: 1, 2, 3 ms per step.
  let t = 0, calls = 0;
  const now = () => {
    calls++;
    if (calls % 2 === 0) t += 10 * (calls / 2);
    return t;
  };
  const ms = measureHostCostPerStep(CTX, {
    stepMs: 240,
    frameMs: 20,
    warmupSteps: 0,
    steps: 10,
    runs: 3,
    now,
  });
  assert.equal(ms, 2);
  assert.throws(
    () =>
      measureHostCostPerStep(CTX, { stepMs: 0, frameMs: 20, warmupSteps: 0, steps: 1, runs: 1 }),
    RangeError,
  );
});
