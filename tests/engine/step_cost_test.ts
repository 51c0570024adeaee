/**
 * The step cost measured for MAX_STREAMS=auto (src/engine/step_cost.ts): stream windows of the
 * server's geometry, decoded like a live step, timed per batch size.
 */
import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { runInference } from "../../src/engine/batch_inference.ts";
import type { InferenceRequest, InferenceResult } from "../../src/engine/inference_contract.ts";
import {
  type MeasureOptions,
  measureStepCosts,
  stepCostRequest,
} from "../../src/engine/step_cost.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { TINY_MODEL } from "./fixtures.ts";

const SHAPE = {
  columns: 240,
  chunk: { offset: 25, count: 3 },
  tentative: { offset: 28, count: 2 },
};

Deno.test("a step cost request is a live step per window: the chunk, then the right context", () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const request = stepCostRequest(model.spec, model.featuresSize, 3, SHAPE);
  assert.equal(request.windows.length, 3);
  assert.equal(request.windows[0].features.length, model.featuresSize * 240);
  assert.notEqual(request.windows[0].features.buffer, request.windows[1].features.buffer);
  assert.ok(request.windows[0].features.some((x) => x !== 0), "not silence");
  assert.deepEqual(request.rows[2].parts, [{ window: 2, encoderOffset: 25, encoderCount: 3 }]);
  assert.deepEqual(request.rows[2].tentative, { window: 2, encoderOffset: 28, encoderCount: 2 });
  const result = runInference(model, request);
  assert.equal(result.rows.length, 3);
  assert.equal(result.stats.encoderCalls, 1, "one encoder call for the batch");
  const plain = stepCostRequest(model.spec, model.featuresSize, 1, { ...SHAPE, tentative: null });
  assert.equal(plain.rows[0].tentative, undefined);
  assert.throws(() => stepCostRequest(model.spec, model.featuresSize, 0, SHAPE), RangeError);
});

Deno.test("step costs: medians per size after an untimed run; stops past the slow limit", async () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const sizes: number[] = [];
  // A device whose batch of b windows takes 30·b ms on its own clock (so the machine's load
  // cannot move the figures), reported as 20·b encoder + 5·b decoder.
  let clockMs = 0;
  const runner = {
    run: async (request: InferenceRequest): Promise<InferenceResult> => {
      const b = request.windows.length;
      sizes.push(b);
      await Promise.resolve();
      clockMs += 30 * b;
      const result = runInference(model, request);
      return { ...result, stats: { ...result.stats, encodeMs: 20 * b, decodeMs: 5 * b } };
    },
  };
  const table = await measureStepCosts(runner, model.spec, model.featuresSize, SHAPE, {
    batches: [1, 2, 4, 8],
    repetitions: 3,
    stopAboveMs: 100,
    now: () => clockMs,
  });
  // Batch 4 takes 120 ms > 100: the last measured; 8 never runs.
  assert.deepEqual(table.map((c) => c.batch), [1, 2, 4]);
  assert.deepEqual(sizes, [1, 1, 1, 1, 2, 2, 2, 2, 4, 4, 4, 4]);
  for (const c of table) {
    assert.equal(c.ms, 30 * c.batch, `${c.batch}: ${c.ms} ms`);
    assert.equal(c.encodeMs, 20 * c.batch);
    assert.equal(c.decodeMs, 5 * c.batch);
    assert.equal(c.computeMs, 25 * c.batch);
  }
});

Deno.test("step costs with lanes: each repetition runs as many batches at once and times each", async () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  // Two lanes on a fake clock: a batch of b windows ends 40·b ms after it starts, whatever else
  // runs (each lane has its own cores).
  let clockMs = 0, running = 0, most = 0, calls = 0;
  const runner = {
    run: async (request: InferenceRequest): Promise<InferenceResult> => {
      const b = request.windows.length;
      const start = clockMs;
      calls++;
      most = Math.max(most, ++running);
      await new Promise((r) => setTimeout(r, 1));
      running--;
      clockMs = Math.max(clockMs, start + 40 * b);
      return runInference(model, request);
    },
  };
  const table = await measureStepCosts(runner, model.spec, model.featuresSize, SHAPE, {
    batches: [1, 2],
    repetitions: 3,
    stopAboveMs: 1000,
    concurrency: 2,
    now: () => clockMs,
  });
  assert.equal(most, 2, "two batches at once");
  assert.equal(calls, 2 * 2 * (1 + 3), "per size: an untimed pair, then three timed pairs");
  assert.deepEqual(table.map((c) => [c.batch, c.ms]), [[1, 40], [2, 80]]);
  await refused(runner, model, { concurrency: 0 });
});

Deno.test("step costs in two passes: per size the faster pass, so a slow second does not stick", async () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  // A device whose batch of b windows takes 10·b ms, but three times that during the first
  // pass's batches of 4 (a slow second on a shared machine).
  let clockMs = 0, pass = 1, seenAfterLast = false;
  const sizes: number[] = [];
  const runner = {
    run: async (request: InferenceRequest): Promise<InferenceResult> => {
      const b = request.windows.length;
      if (sizes.length > 0 && b < sizes[sizes.length - 1]) pass++;
      if (pass === 2 && b === 8) seenAfterLast = true;
      sizes.push(b);
      await Promise.resolve();
      clockMs += (pass === 1 && b === 4 ? 30 : 10) * b;
      return runInference(model, request);
    },
  };
  const table = await measureStepCosts(runner, model.spec, model.featuresSize, SHAPE, {
    batches: [1, 2, 4, 8, 16],
    repetitions: 2,
    stopAboveMs: 70,
    passes: 2,
    now: () => clockMs,
  });
  // The first pass stopped after its slow 4 (120 ms > 70); the second found 4 at 40 ms and went
  // on to 8, the first size past the limit at its true speed.
  assert.deepEqual(table.map((c) => c.batch), [1, 2, 4, 8]);
  assert.equal(pass, 2);
  assert.ok(seenAfterLast, "the second pass went past where the slowed first one stopped");
  assert.deepEqual(sizes.filter((b) => b === 16), [], "nothing past the first size over the limit");
  // An untimed run the first time a size is measured only: 1, 2, 4 three runs then two, 8 three.
  assert.deepEqual(sizes, [1, 1, 1, 2, 2, 2, 4, 4, 4, 1, 1, 2, 2, 4, 4, 8, 8, 8]);
  assert.deepEqual(table.map((c) => c.ms), [10, 20, 40, 80]);
  await refused(runner, model, { passes: 0 });
});

/** Measuring one size with `bad` options is refused (RangeError) before anything runs. */
async function refused(
  runner: { run(request: InferenceRequest): Promise<InferenceResult> },
  model: ParakeetModel,
  bad: Partial<MeasureOptions>,
): Promise<void> {
  await assert.rejects(
    measureStepCosts(runner, model.spec, model.featuresSize, SHAPE, {
      batches: [1],
      repetitions: 1,
      stopAboveMs: 1000,
      ...bad,
    }),
    RangeError,
  );
}
