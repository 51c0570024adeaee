/**
 * The overload benchmark (bench/overload.ts), shrunk: the tiny model at one-frame steps (so its
 * capacity is a handful of streams), two clips, 4 s per stream. 1.5× the announced capacity goes
 * to a server with MAX_STREAMS=128 and to one with MAX_STREAMS=auto.
 */
import assert from "node:assert/strict";
import { runOverload } from "../../bench/overload.ts";

Deno.test("overload: auto refuses the excess at once and its streams stay exact; 128 admits them all", async () => {
  const r = await runOverload({
    // Long left context: each window is priced at 8 s of audio, so the capacity stays a handful
    // of streams whatever the machine, and 1.5× of it fits under maxOffered.
    knobs: { STEP_MS: "80", RIGHT_CONTEXT_MS: "0", LEFT_CONTEXT_MS: "8000" },
    durationS: 4,
    clips: ["digits_pi.wav", "seven_eight.wav"],
    maxOffered: 32,
  });
  const { auto, fixed } = r;
  const report = JSON.stringify({ auto, fixed, step_cost_ms: r.step_cost_ms });
  assert.equal(r.offered, Math.min(32, Math.ceil(1.5 * r.announced_capacity)), report);
  assert.ok(r.offered > r.announced_capacity, report);
  // auto: exactly its capacity admitted (every stream outlives the 2 s of arrivals), the rest
  // refused with 503 before any audio, fast.
  assert.equal(auto.admitted, r.announced_capacity, report);
  assert.equal(auto.refused, r.offered - r.announced_capacity, report);
  assert.ok(auto.refusal_ms.max! < 1000, `refused in ${auto.refusal_ms.max} ms`);
  // 128: everyone in.
  assert.equal(fixed.admitted, r.offered, report);
  assert.equal(fixed.refused, 0);
  // Load delays the admitted streams, never changes their text.
  for (const s of [auto, fixed]) {
    assert.deepEqual(s.errors, {}, report);
    assert.equal(s.finals_missing, 0, report);
    assert.ok(s.finals > 0, report);
    assert.equal(s.finals_as_alone, s.finals, report);
    assert.ok(s.partial_latency_ms.p95 !== null, report);
  }
  // Fewer streams share the device: the admitted ones are not later than under 128.
  assert.ok(auto.partial_latency_ms.p95! <= fixed.partial_latency_ms.p95! * 1.1, report);
});
