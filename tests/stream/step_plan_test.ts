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
    chunks: 1,
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
        // The positional table is checked at start against L + C + R: no step may pass it.
        const longest = geometry.leftFrames + geometry.chunkFrames + geometry.rightFrames;
        assert.ok(w.windowEnd - w.windowStart <= longest, `total ${total}: chunk ${k}`);
      }
      assert.deepEqual(
        covered,
        Array.from({ length: encodedLength(total, 8) }, (_, i) => i),
        `total ${total}`,
      );
    }
  }
});

Deno.test("planStep with contexts longer than the stream decodes it all in one whole window", () => {
  const wide = { ...G, leftFrames: 800, rightFrames: 800 };
  assert.equal(planStep(wide, 0, 300, null), null); // never ready before the end
  // Three chunks, one window: each of them alone would have encoded the whole stream again.
  assert.deepEqual(planStep(wide, 0, 61, 61), {
    index: 0,
    windowStart: 0,
    windowEnd: 61,
    chunkStart: 0,
    chunkEnd: 61,
    encoderOffset: 0,
    encoderCount: encodedLength(61, 8),
    chunks: 3,
  });
  assert.equal(planStep(wide, 1, 61, 61), null);
  assert.equal(planStep(wide, 2, 61, 61), null);
});

Deno.test("at the end, the chunk whose right context was cut short decodes the rest in its window", () => {
  // 24-frame chunks, 16 of right context: chunk 3 (72…96) waits for frame 112.
  for (const total of [97, 100, 111]) {
    // Chunk 3's right context is cut short: it is the last step, and its window, which ends at
    // the last frame, also covers chunk 4 (96…total).
    const w = planStep(G, 3, total, total)!;
    assert.deepEqual([w.windowStart, w.windowEnd, w.chunkStart, w.chunkEnd], [
      24,
      total,
      72,
      total,
    ]);
    assert.equal(w.chunks, 2);
    assert.equal(w.encoderOffset, 6);
    assert.equal(w.encoderCount, encodedLength(total - 24, 8) - 6);
    assert.equal(planStep(G, 4, total, total), null);
    // The steps before are the ones the stream had before its end.
    assert.deepEqual(planStep(G, 2, total, total), planStep(G, 2, 10_000, null));
  }
  // With its whole right context (112 frames), chunk 3 is an ordinary step; chunk 4 is the tail.
  assert.deepEqual(planStep(G, 3, 112, 112), planStep(G, 3, 112, null));
  assert.equal(planStep(G, 4, 112, 112)!.chunks, 1);
  // Ending on a chunk boundary with its right context cut short: one chunk left.
  assert.equal(planStep(G, 3, 96, 96)!.chunks, 1);
});
