import assert from "node:assert/strict";
import { WerTally, wordErrors } from "../../bench/wer.ts";

Deno.test("wordErrors counts substitutions, insertions and deletions over words", () => {
  assert.deepEqual(wordErrors("one two three", "one two three"), { errors: 0, words: 3 });
  assert.deepEqual(wordErrors("one two three", "one too three"), { errors: 1, words: 3 });
  assert.deepEqual(wordErrors("one two three", "two three"), { errors: 1, words: 3 });
  assert.deepEqual(wordErrors("one two three", "one two three four five"), { errors: 2, words: 3 });
  assert.deepEqual(wordErrors("one two", ""), { errors: 2, words: 2 });
  assert.deepEqual(wordErrors("", "oh"), { errors: 1, words: 0 });
  // The cheapest alignment, not position by position: a dropped first word is one error.
  assert.deepEqual(wordErrors("nine one two three", "one two three"), { errors: 1, words: 4 });
  assert.deepEqual(wordErrors("  one   two ", "one two"), { errors: 0, words: 2 });
});

Deno.test("WerTally sums errors and words over utterances", () => {
  const t = new WerTally();
  t.add("one two three four", "one two three");
  t.add("five six", "five six");
  assert.equal(t.errors, 1);
  assert.equal(t.words, 6);
  assert.equal(t.utterances, 2);
  assert.equal(t.toJSON().wer, 0.1667);
  assert.equal(new WerTally().wer, 0);
});
