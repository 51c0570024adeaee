/**
 * The capacity model (src/stream/capacity_model.ts) and the drift watch
 * (src/stream/capacity_drift.ts): pure functions of a cost table and a fake clock.
 */
import assert from "node:assert/strict";
import {
  type BatchCost,
  batchCost,
  batchSizesToMeasure,
  checkCostTable,
  holds,
  hostOverlapsInference,
  monotoneCosts,
  scaleCosts,
  steadyCycleMs,
  streamsHeld,
  windowsCost,
} from "../../src/stream/capacity_model.ts";
import { DEFAULT_DRIFT, DriftWatch } from "../../src/stream/capacity_drift.ts";

/** A device whose batch of b windows costs `fixed + perWindow·b` ms. */
function affine(fixed: number, perWindow: number, sizes = [1, 2, 4, 8, 16, 32]): BatchCost[] {
  return sizes.map((b) => ({ batch: b, ms: fixed + perWindow * b, computeMs: perWindow * b }));
}

const OPTS = { stepMs: 240, targetMs: 340, maxBatch: 32, hardCap: 1024, overheadMs: 0, margin: 0 };

Deno.test("batch sizes measured: the powers of two below MAX_BATCH, and MAX_BATCH", () => {
  assert.deepEqual(batchSizesToMeasure(1), [1]);
  assert.deepEqual(batchSizesToMeasure(32), [1, 2, 4, 8, 16, 32]);
  assert.deepEqual(batchSizesToMeasure(12), [1, 2, 4, 8, 12]);
});

Deno.test("a batch's cost is interpolated between measured sizes and extended past the last", () => {
  const t: BatchCost[] = [
    { batch: 1, ms: 10, computeMs: 8 },
    { batch: 4, ms: 16, computeMs: 14 },
    { batch: 8, ms: 24, computeMs: 20 },
  ];
  assert.equal(batchCost(t, 0.5), 10, "below the smallest: the smallest's cost");
  assert.equal(batchCost(t, 2), 12);
  assert.equal(batchCost(t, 6), 20);
  assert.equal(batchCost(t, 6, "computeMs"), 17);
  assert.equal(batchCost(t, 12), 32, "past the last: along the last segment");
  assert.equal(batchCost([{ batch: 2, ms: 10, computeMs: 10 }], 4), 20, "one size: proportional");
  // More windows than MAX_BATCH run as equal batches one after another.
  assert.equal(windowsCost(t, 16, 8), 48);
  assert.equal(windowsCost(t, 12, 8), 2 * batchCost(t, 6));
});

Deno.test("a noisy table is made non-decreasing before use", () => {
  const noisy: BatchCost[] = [
    { batch: 1, ms: 15, computeMs: 5 },
    { batch: 2, ms: 7, computeMs: 7 },
    { batch: 4, ms: 46, computeMs: 4 },
  ];
  assert.deepEqual(monotoneCosts(noisy).map((c) => [c.ms, c.computeMs]), [[15, 5], [15, 7], [
    46,
    7,
  ]]);
  assert.equal(streamsHeld(noisy, OPTS), streamsHeld(monotoneCosts(noisy), OPTS));
});

Deno.test("the cost table must be sorted, positive and not empty", () => {
  assert.throws(() => checkCostTable([]), RangeError);
  assert.throws(
    () => checkCostTable([{ batch: 2, ms: 1, computeMs: 1 }, { batch: 1, ms: 1, computeMs: 1 }]),
    /sorted/,
  );
  assert.throws(() => checkCostTable([{ batch: 1, ms: 0, computeMs: 0 }]), RangeError);
  assert.throws(() => streamsHeld([], OPTS), RangeError);
});

Deno.test("the steady cycle is the fixed point T = cost(N·T/STEP_MS)", () => {
  // cost(b) = 20 + 5b → T = 20 + 5·N·T/240 → T = 20 / (1 − 5N/240).
  const t = affine(20, 5);
  for (const n of [1, 4, 12, 24]) {
    const cycle = steadyCycleMs(t, n, OPTS)!;
    const expected = Math.max(25, 20 / (1 - 5 * n / 240));
    assert.ok(Math.abs(cycle - expected) < 0.05, `${n} streams: ${cycle} vs ${expected}`);
  }
  assert.equal(steadyCycleMs(t, 0, OPTS), 0);
  assert.equal(
    steadyCycleMs(t, 48, OPTS),
    null,
    "5 ms per window × 48 = one step: never catches up",
  );
  assert.equal(steadyCycleMs(affine(300, 1), 1, OPTS), null, "one window costs more than a step");
});

Deno.test("streams held: the most whose cycle keeps 2·T and the together batch within the target", () => {
  const t = affine(20, 5);
  const n = streamsHeld(t, OPTS);
  assert.ok(holds(t, n, OPTS) && !holds(t, n + 1, OPTS));
  // Together: 20 + 5N ≤ 340 → N ≤ 64; evenly phased: 2·20/(1 − 5N/240) ≤ 340 → N ≤ 42.
  assert.equal(n, 42);
  // Holding is monotone: every smaller load holds, every larger one does not.
  for (let k = 0; k <= 60; k++) assert.equal(holds(t, k, OPTS), k <= n, `${k} streams`);
});

Deno.test("margin, host overhead and the hard cap all lower the answer; a slow device holds 0", () => {
  const t = affine(20, 5);
  const base = streamsHeld(t, OPTS);
  assert.ok(streamsHeld(t, { ...OPTS, margin: 0.25 }) < base);
  assert.ok(streamsHeld(t, { ...OPTS, overheadMs: 60 }) < base);
  assert.equal(streamsHeld(t, { ...OPTS, hardCap: 10 }), 10);
  assert.equal(streamsHeld(t, { ...OPTS, hardCap: 0 }), 0);
  // The full-size model on a CPU at 240 ms steps: one window costs 2 s.
  assert.equal(streamsHeld(affine(2000, 100), OPTS), 0);
  // A device twice as slow holds fewer streams, never more.
  assert.ok(streamsHeld(scaleCosts(t, 2), OPTS) < base);
});

Deno.test("host work between batches adds each window's host time to the cycle", () => {
  const t = affine(20, 5);
  const base = streamsHeld(t, OPTS);
  const opts = { ...OPTS, hostMsPerStep: 3, hostOverlapsInference: false };
  const n = streamsHeld(t, opts);
  // Evenly phased: T = 20 + (5 + 3)·N·T/240 → T = 20/(1 − 8N/240); 2·T ≤ 340 → N ≤ 26.
  assert.equal(n, 26);
  assert.ok(n < base);
  assert.ok(Math.abs(steadyCycleMs(t, 10, OPTS, 3)! - 20 / (1 - 80 / 240)) < 0.01);
  for (let k = 0; k <= 40; k++) assert.equal(holds(t, k, opts), k <= n, `${k} streams`);
  // The margin counts on host work too.
  assert.ok(streamsHeld(t, { ...opts, margin: 0.25 }) < streamsHeld(t, { ...opts, margin: 0 }));
});

Deno.test("host work beside the batches is bounded by the main isolate keeping up", () => {
  // Inference is cheap here: the main isolate's 10 ms per stream per step is the limit.
  const t = affine(1, 0.1);
  const opts = { ...OPTS, hostMsPerStep: 10, hostOverlapsInference: true };
  const n = streamsHeld(t, opts);
  assert.equal(n, 23, "N·10 < 240");
  assert.ok(!holds(t, 24, opts));
  // Between batches the same work costs more streams: it also lengthens every cycle.
  assert.ok(streamsHeld(t, { ...opts, hostOverlapsInference: false }) <= n);
  // Unmeasured host work (0) leaves the answer as the inference-only model gives it.
  assert.equal(streamsHeld(t, { ...OPTS, hostMsPerStep: 0 }), streamsHeld(t, OPTS));
});

Deno.test("host work overlaps inference only on a GPU or with ONNX Runtime threads below the cores", () => {
  assert.equal(hostOverlapsInference("gpu", 0, 2), true);
  assert.equal(hostOverlapsInference("cpu", 0, 2), false, "0 threads: one per core, all taken");
  assert.equal(hostOverlapsInference("cpu", 2, 2), false);
  assert.equal(hostOverlapsInference("cpu", 1, 2), true);
  assert.equal(hostOverlapsInference("cpu", 8, 4), false);
  assert.equal(hostOverlapsInference("cpu", 1, 1), false);
});

Deno.test("lanes: each runs its share of the streams' windows at the cost measured with all busy", () => {
  const t = affine(20, 5);
  const one = streamsHeld(t, OPTS);
  const two = streamsHeld(t, { ...OPTS, lanes: 2 });
  // Each lane holds what one lane alone holds at that (all-busy) cost: twice the streams, give
  // or take the one an odd count splits unevenly.
  assert.ok(two >= 2 * one && two <= 2 * one + 1, `${one} streams on one lane, ${two} on two`);
  for (let k = 1; k <= 2 * one + 4; k++) {
    assert.equal(holds(t, k, { ...OPTS, lanes: 2 }), holds(t, k / 2, OPTS), `${k} streams`);
  }
  // Host work between batches is shared among the lanes' cores; beside them, the main isolate
  // alone still has to keep up with every stream.
  const between = { ...OPTS, hostMsPerStep: 3, hostOverlapsInference: false };
  assert.equal(
    streamsHeld(t, { ...between, lanes: 2 }) >= 2 * streamsHeld(t, between),
    true,
  );
  const beside = { ...OPTS, hostMsPerStep: 10, hostOverlapsInference: true };
  assert.equal(streamsHeld(affine(1, 0.1), { ...beside, lanes: 2 }), 23, "N·10 < 240 still");
});

Deno.test("MAX_BATCH splits a cycle's windows into batches run one after another", () => {
  // A batch costs 40 ms whatever its size (a wide GPU): 8 per batch, 8 batches for 64 windows.
  const flat = affine(40, 0);
  const wide = streamsHeld(flat, { ...OPTS, maxBatch: 1024 });
  const narrow = streamsHeld(flat, { ...OPTS, maxBatch: 8 });
  assert.equal(wide, 1024, "a flat cost holds every stream when one batch takes them all");
  assert.ok(narrow < wide && narrow >= 8, `MAX_BATCH 8 holds ${narrow}`);
});

Deno.test("drift: a mean ratio outside the bounds for 30 s calls for a recompute, at most once a minute", () => {
  let now = 0;
  const watch = new DriftWatch((w) => 10 * w, DEFAULT_DRIFT, () => now);
  // On the table: nothing happens however long it runs.
  for (; now < 120_000; now += 100) assert.equal(watch.observe(2, 20), null);
  assert.equal(watch.ratio, 1);
  // Twice as slow: the mean passes 1.5 after a few batches, then must stay above for 30 s.
  let firedAt: number | null = null;
  let ratio: number | null = null;
  for (; now < 200_000 && firedAt === null; now += 100) {
    ratio = watch.observe(4, 80);
    if (ratio !== null) firedAt = now;
  }
  assert.ok(firedAt !== null && firedAt >= 120_000 + 30_000 && firedAt < 120_000 + 32_000);
  assert.ok(ratio! > 1.5 && ratio! <= 2);
  watch.rebase((w) => 20 * w);
  assert.equal(watch.ratio, 1);
  // Slower again at once: the minute since the last recompute must pass first.
  const rebasedAt = now;
  let again: number | null = null;
  for (; again === null && now < rebasedAt + 200_000; now += 100) {
    if (watch.observe(4, 200) !== null) again = now;
  }
  assert.ok(again !== null && again - rebasedAt >= 60_000, `again ${again! - rebasedAt} ms later`);
});

Deno.test("drift: a spike shorter than the hold resets; faster than measured counts too", () => {
  let now = 0;
  const watch = new DriftWatch((w) => 10 * w, { ...DEFAULT_DRIFT, minIntervalMs: 0 }, () => now);
  for (; now < 20_000; now += 100) assert.equal(watch.observe(1, 30), null);
  // Back on the table before 30 s: the mean returns inside and the hold starts over.
  for (; now < 40_000; now += 100) assert.equal(watch.observe(1, 10), null);
  for (; now < 60_000; now += 100) assert.equal(watch.observe(1, 30), null);
  for (; now < 62_000; now += 100) watch.observe(1, 10);
  let fired: number | null = null;
  for (; fired === null && now < 200_000; now += 100) fired = watch.observe(1, 3);
  assert.ok(fired !== null && fired < 0.67, `faster: ${fired}`);
  assert.equal(watch.observe(0, 10), null, "a batch of no stream windows tells nothing");
  assert.throws(() => new DriftWatch(() => 1, { ...DEFAULT_DRIFT, low: 1.2 }), RangeError);
});
