import assert from "node:assert/strict";
import { encodedLength } from "../../src/model/subsampling.ts";
import { planStep, type StepGeometry } from "../../src/stream/step_plan.ts";

const G: StepGeometry = { chunkFrames: 24, leftFrames: 48, rightFrames: 16, subsampling: 8 };

Deno.test("encodedLength is three halvings rounded up, as NeMo's dw_striding computes", () => {
  assert.deepEqual([1, 7, 8, 9, 16, 17, 100, 101].map((n) => encodedLength(n, 8)), [
    1,
    1,
    1,
    2,
    2,
    3,
    13,
    13,
  ]);
});

Deno.test("planStep waits for the chunk's full right context before the end of the stream", () => {
  assert.equal(planStep(G, 0, 39, null), null);
  const w = planStep(G, 0, 40, null)!;
  assert.deepEqual(w, {
    index: 0,
    windowStart: 0,
    windowEnd: 40,
    chunkStart: 0,
    chunkEnd: 24,
    encoderOffset: 0,
    encoderCount: 3,
  });
});

Deno.test("planStep windows reach the steady length L+C+R once past the left context", () => {
  const w = planStep(G, 5, 10_000, null)!;
  assert.equal(w.windowStart, 120 - 48);
  assert.equal(w.windowEnd - w.windowStart, 48 + 24 + 16);
  assert.equal(w.encoderOffset, 6);
  assert.equal(w.encoderCount, 3);
  // The window does not grow with the audio available: the same step whatever the timing.
  assert.deepEqual(planStep(G, 5, 160, null), w);
});

Deno.test("planStep after the end of the stream tiles every encoder frame exactly once", () => {
  for (const geometry of [G, { ...G, leftFrames: 0, rightFrames: 0 }, { ...G, chunkFrames: 8 }]) {
    for (let total = 1; total <= 200; total++) {
      const covered: number[] = [];
      for (let k = 0;; k++) {
        const w = planStep(geometry, k, total, total);
        if (!w) break;
        const absoluteStart = w.windowStart / 8 + w.encoderOffset;
        for (let i = 0; i < w.encoderCount; i++) covered.push(absoluteStart + i);
        assert.ok(w.windowEnd <= total && w.chunkEnd <= total);
      }
      assert.deepEqual(
        covered,
        Array.from({ length: encodedLength(total, 8) }, (_, i) => i),
        `total ${total}`,
      );
    }
  }
});

Deno.test("planStep with contexts longer than the stream makes every window the whole stream", () => {
  const wide = { ...G, leftFrames: 800, rightFrames: 800 };
  assert.equal(planStep(wide, 0, 300, null), null); // never ready before the end
  for (let k = 0; k < 3; k++) {
    const w = planStep(wide, k, 61, 61)!;
    assert.equal(w.windowStart, 0);
    assert.equal(w.windowEnd, 61);
  }
  assert.equal(planStep(wide, 3, 61, 61), null);
});
