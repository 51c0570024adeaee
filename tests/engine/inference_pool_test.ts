/**
 * Inference lanes (src/engine/inference_pool.ts): several inference workers of the same model,
 * each batch on the least busy lane, with the tokens one lane gives.
 */
import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { runInference } from "../../src/engine/batch_inference.ts";
import { inferenceLanes, InferencePool, threadsPerLane } from "../../src/engine/inference_pool.ts";
import { stepCostRequest } from "../../src/engine/step_cost.ts";
import type { LoadSpec } from "../../src/engine/worker_protocol.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { TINY_MODEL } from "./fixtures.ts";

const SPEC: LoadSpec = {
  modelDir: TINY_MODEL,
  precision: "fp32",
  device: "cpu",
  session: { intraOpThreads: 1 },
};
const SHAPE = { columns: 240, chunk: { offset: 25, count: 3 }, tentative: null };

Deno.test("lanes: two on a CPU of two or more cores, one on a GPU or one core; a number wins", () => {
  assert.equal(inferenceLanes(0, "cpu", 2), 2);
  assert.equal(inferenceLanes(0, "cpu", 64), 2);
  assert.equal(inferenceLanes(0, "cpu", 1), 1);
  assert.equal(inferenceLanes(0, "cuda", 16), 1, "a GPU session runs its batches in order");
  assert.equal(inferenceLanes(3, "cuda", 1), 3);
  assert.equal(inferenceLanes(1, "cpu", 8), 1);
});

Deno.test("threads per lane: ORT_THREADS (0: the cores) shared out among the lanes, at least one", () => {
  assert.equal(threadsPerLane(0, 2, 2), 1);
  assert.equal(threadsPerLane(0, 2, 8), 4);
  assert.equal(threadsPerLane(0, 3, 8), 2);
  assert.equal(threadsPerLane(0, 4, 2), 1);
  assert.equal(threadsPerLane(8, 2, 2), 4, "a pod's ORT_THREADS=8 stays 8 threads in all");
  assert.equal(threadsPerLane(6, 1, 2), 6);
  assert.equal(threadsPerLane(1, 2, 8), 1);
});

Deno.test("a pool of two lanes runs two batches at once, one a lane, with one lane's tokens", async () => {
  await using pool = await InferencePool.start(SPEC, (device) => {
    assert.equal(device, "cpu");
    return 2;
  });
  assert.equal(pool.lanes.length, 2);
  assert.equal(pool.model.device, "cpu");
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  // A fresh request each run: the engine hands its buffers over to the worker.
  const request = (b: number) => stepCostRequest(model.spec, model.featuresSize, b, SHAPE);
  const expected = [3, 5].map((b) => runInference(model, request(b)));
  const first = pool.run(request(3));
  assert.deepEqual(pool.lanes.map((l) => l.inFlight), [1, 0]);
  const second = pool.run(request(5));
  assert.deepEqual(pool.lanes.map((l) => l.inFlight), [1, 1], "the idle lane took the second");
  assert.equal(pool.inFlight, 2);
  const results = await Promise.all([first, second]);
  results.forEach((r, i) => {
    assert.deepEqual(r.rows.map((row) => row.tokens), expected[i].rows.map((row) => row.tokens));
    assert.equal(r.rows.length, [3, 5][i]);
  });
  assert.equal(pool.inFlight, 0);
  // Three batches at once: one a lane, then the third on the first of two equally busy lanes.
  const busy = pool.run(request(1));
  const next = pool.run(request(1));
  const third = pool.run(request(1));
  assert.deepEqual(pool.lanes.map((l) => l.inFlight), [2, 1]);
  await Promise.all([busy, next, third]);
  const counted: string[] = [];
  const onRestart = () => counted.push("restart");
  pool.onRestart = onRestart;
  for (const lane of pool.lanes) assert.equal(lane.onRestart, onRestart);
  assert.equal(pool.restarts, 0);
});

Deno.test("a pool refuses a lane count that is not a whole number ≥ 1", async () => {
  await assert.rejects(InferencePool.start(SPEC, () => 0), /whole number ≥ 1, got 0/);
  await assert.rejects(InferencePool.start(SPEC, () => 1.5), RangeError);
  await assert.rejects(
    InferencePool.start(SPEC, () => {
      throw new Error("no lanes for you");
    }),
    /no lanes for you/,
  );
});

Deno.test("a pool whose model does not load rejects with the load error", async () => {
  await assert.rejects(
    InferencePool.start({ ...SPEC, modelDir: "/nonexistent/model" }, () => 2),
    /nonexistent/,
  );
});

Deno.test("a pool closes every lane; a batch after close is refused", async () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const pool = await InferencePool.start(SPEC, () => 2);
  await pool.close();
  await pool.close();
  for (const lane of pool.lanes) {
    await assert.rejects(
      lane.run(stepCostRequest(model.spec, model.featuresSize, 1, SHAPE)),
      /closed/,
    );
  }
});
