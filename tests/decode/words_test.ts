import assert from "node:assert/strict";
import { punctuationMarks, wordTimings } from "../../src/decode/words.ts";

const PIECES = ["▁se", "ven", "▁eight", ",", "▁nine", "<blk>"];

Deno.test("wordTimings joins pieces into words with start, end from frames and durations", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [0, 1, 2, 3, 4], frames: [2, 3, 7, 9, 12], durations: [1, 2, 2, 1, 3] },
    0.08,
  );
  assert.deepEqual(words, [
    { word: "seven", start: 0.16, end: 0.4 },
    { word: "eight,", start: 0.56, end: 0.72 },
    { word: "nine", start: 0.96, end: 1.2 },
  ]);
});

Deno.test("wordTimings keeps times monotonic when a duration overlaps the next word", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [2, 4], frames: [5, 5], durations: [3, 0] },
    0.08,
  );
  assert.deepEqual(words, [
    { word: "eight", start: 0.4, end: 0.4 },
    { word: "nine", start: 0.4, end: 0.4 },
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

Deno.test("wordTimings ends a token at start + duration, 0 included, as NeMo does", () => {
  const words = wordTimings(
    { pieces: PIECES, ids: [2, 4], frames: [3, 6], durations: [0, 2] },
    0.08,
  );
  assert.deepEqual(words, [
    { word: "eight", start: 0.24, end: 0.24 },
    { word: "nine", start: 0.48, end: 0.64 },
  ]);
});

const PNC = ["▁Hola", "▁dijo", "▁¿", "qué", "?", "▁Bonjour", "▁!", ".", "<blk>", "▁Ja", ",", "!"];

Deno.test("wordTimings moves a late punctuation mark to the end of the token before it", () => {
  // "Ja" ends at frame 4; the "." comes 20 frames later, after a pause.
  const words = wordTimings(
    { pieces: PNC, ids: [9, 7], frames: [2, 24], durations: [2, 1] },
    0.08,
  );
  assert.deepEqual(words, [{ word: "Ja.", start: 0.16, end: 0.32 }]);
});

Deno.test("wordTimings joins a ▁-prefixed mark to the word before it", () => {
  const words = wordTimings(
    { pieces: PNC, ids: [5, 6, 0], frames: [0, 9, 12], durations: [4, 1, 3] },
    0.08,
  );
  assert.deepEqual(words.map((w) => w.word), ["Bonjour!", "Hola"]);
  assert.deepEqual(words[0], { word: "Bonjour!", start: 0, end: 0.32 });
});

Deno.test("wordTimings: several marks in a row all take the last word's end", () => {
  const words = wordTimings(
    { pieces: PNC, ids: [9, 10, 7], frames: [0, 10, 20], durations: [3, 2, 2] },
    0.08,
  );
  assert.deepEqual(words, [{ word: "Ja,.", start: 0, end: 0.24 }]);
});

Deno.test("wordTimings never shows special pieces as words", () => {
  const pieces = ["<unk>", "<|nospeech|>", "▁yes", "<pad>", "<blk>"];
  const words = wordTimings(
    { pieces, ids: [1, 2, 3, 0], frames: [0, 1, 2, 3], durations: [1, 1, 1, 1] },
    0.08,
  );
  assert.deepEqual(words.map((w) => w.word), ["yes"]);
});

Deno.test("punctuationMarks finds marks as NeMo does: not in ▁ pieces or specials", () => {
  assert.deepEqual([...punctuationMarks(PNC)].sort(), ["!", ",", ".", "?"].sort());
  assert.deepEqual([...punctuationMarks(["<|pnc|>", "▁¿", "[MASK]", "▁a"])], []);
});
