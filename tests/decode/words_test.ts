import assert from "node:assert/strict";
import { wordTimings } from "../../src/decode/words.ts";

const PIECES = ["▁se", "ven", "▁eight", ",", "▁nine", "<blk>"];

Deno.test("wordTimings joins pieces into words with start, end from frames and durations", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [0, 1, 2, 3, 4], frames: [2, 3, 7, 9, 12], durations: [1, 2, 2, 1, 3] },
    0.08,
  );
  assert.deepEqual(words, [
    { word: "seven", start: 0.16, end: 0.4 },
    { word: "eight,", start: 0.56, end: 0.8 },
    { word: "nine", start: 0.96, end: 1.2 },
  ]);
});

Deno.test("wordTimings keeps times monotonic when a duration overlaps the next word", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [2, 4], frames: [5, 5], durations: [0, 0] },
    0.08,
  );
  assert.deepEqual(words, [
    { word: "eight", start: 0.4, end: 0.4 },
    { word: "nine", start: 0.4, end: 0.48 },
  ]);
  for (let i = 1; i < words.length; i++) assert.ok(words[i].start >= words[i - 1].end);
});

Deno.test("wordTimings caps times at the audio length and handles no tokens", () => {
  const words = wordTimings({ pieces: PIECES, ids: [4], frames: [10], durations: [4] }, 0.08, 0.85);
  assert.deepEqual(words, [{ word: "nine", start: 0.8, end: 0.85 }]);
  assert.deepEqual(wordTimings({ pieces: PIECES, ids: [], frames: [], durations: [] }, 0.08), []);
});

Deno.test("wordTimings starts a word at a leading piece without ▁", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [1, 0], frames: [0, 2], durations: [1, 1] },
    0.08,
  );
  assert.deepEqual(words.map((w) => w.word), ["ven", "se"]);
});
