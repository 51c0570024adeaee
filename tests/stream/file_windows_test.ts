import assert from "node:assert/strict";
import {
  fileChunkGeometry,
  longestWindowEncoderFrames,
  offlineGeometry,
  windowTooLong,
} from "../../src/stream/file_windows.ts";
import { wholeEncoderFrames } from "../../src/model/subsampling.ts";
import { SampleFeed } from "../../src/stream/sample_feed.ts";
import { checkGeometry, planStep, type StepWindow } from "../../src/stream/step_plan.ts";

/** Every window of a stream of `total` frames once it has ended. */
function windowsOf(g: Parameters<typeof planStep>[0], total: number): StepWindow[] {
  const out: StepWindow[] = [];
  for (let k = 0;; k++) {
    const w = planStep(g, k, total, total);
    if (!w) return out;
    out.push(w);
  }
}

Deno.test("every FILE_CHUNK_S is cut in whole encoder frames: 1 s no longer splits one", () => {
  assert.equal(wholeEncoderFrames(100, 8), 104);
  assert.equal(wholeEncoderFrames(300, 8), 304);
  assert.equal(wholeEncoderFrames(800, 8), 800);
  assert.equal(wholeEncoderFrames(3, 8), 8);
  for (let s = 1; s <= 60; s++) {
    const g = fileChunkGeometry(s * 100, 200, 8, 200);
    checkGeometry(g);
    // 16.7 s: every chunk starts at a whole encoder frame of its window, and the chunks tile
    // the file's encoder frames exactly once.
    let next = 0;
    for (const w of windowsOf(g, 1670)) {
      assert.ok(Number.isInteger(w.encoderOffset), `FILE_CHUNK_S=${s}: chunk ${w.index}`);
      assert.equal(w.chunkStart / 8, next);
      next += w.encoderCount;
    }
    assert.equal(next, Math.ceil(1670 / 8), `FILE_CHUNK_S=${s}: all encoder frames once`);
  }
});

Deno.test("a geometry whose chunk is not whole encoder frames is refused, not decoded to NaN", () => {
  assert.throws(
    () => checkGeometry({ chunkFrames: 100, leftFrames: 200, rightFrames: 200, subsampling: 8 }),
    /chunk \(100\) and left context \(200\) must be whole encoder frames/,
  );
});

Deno.test("transcribe's windows: the whole file when it fits the table, else the largest that fit", () => {
  // Fits (9999 frames and the masked column: 1250 encoder frames): one window, no context.
  const whole = offlineGeometry(9999, 8, 1250, 200);
  assert.deepEqual(windowsOf(whole, 9999).map((w) => [w.windowStart, w.windowEnd]), [[0, 9999]]);
  // 101 s: windows of left + chunk + right that each fit, covering every frame once.
  const g = offlineGeometry(10100, 8, 1250, 200);
  assert.ok(longestWindowEncoderFrames(g) <= 1250);
  const windows = windowsOf(g, 10100);
  assert.equal(windows.length, 2);
  assert.equal(windows[1].chunkEnd, 10100);
  // Parakeet-TDT-0.6B-v3: an hour in 400 s tables.
  const v3 = offlineGeometry(360_000, 8, 5000, 200);
  assert.ok(longestWindowEncoderFrames(v3) <= 5000);
  assert.equal(windowsOf(v3, 360_000).length, Math.ceil(360_000 / v3.chunkFrames));
});

Deno.test("a streaming window longer than the table is named with its knobs and the limit", () => {
  const live = { chunkFrames: 24, leftFrames: 6000, rightFrames: 6000, subsampling: 8 };
  assert.equal(
    windowTooLong(live, 1250, "LEFT_CONTEXT_MS 60000 + STEP_MS 240 + RIGHT_CONTEXT_MS 60000", 0.01),
    "LEFT_CONTEXT_MS 60000 + STEP_MS 240 + RIGHT_CONTEXT_MS 60000 make windows of 120.24 s, longer than the model's positional table: 1250 encoder frames (100 s, pos_emb_max_len). The encoder cannot attend over a longer window; make them shorter",
  );
  // 99.99 s and the masked column fill the table exactly.
  assert.equal(
    windowTooLong({ ...live, leftFrames: 3975, rightFrames: 6000 }, 1250, "", 0.01),
    null,
  );
  assert.notEqual(
    windowTooLong({ ...live, leftFrames: 3976, rightFrames: 6000 }, 1250, "", 0.01),
    null,
  );
});

Deno.test("a file is fed in slices, the last one marked, an empty file as one empty slice", () => {
  const feed = new SampleFeed(new Float32Array(25), 10);
  const sizes: [number, boolean][] = [];
  for (let s = feed.next(); s; s = feed.next()) sizes.push([s.samples.length, s.last]);
  assert.deepEqual(sizes, [[10, false], [10, false], [5, true]]);
  assert.ok(feed.done);
  const empty = new SampleFeed(new Float32Array(0), 10);
  assert.deepEqual(empty.next()?.last, true);
  assert.equal(empty.next(), null);
});
