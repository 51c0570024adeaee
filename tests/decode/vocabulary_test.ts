import assert from "node:assert/strict";
import { tidySpaces, Vocabulary } from "../../src/model/vocabulary.ts";

const VOCAB = ["<unk> 0", "▁hello 1", "▁wor 2", "ld 3", ", 4", "▁Ça 5", "▁va 6", "? 7", "<blk> 8"]
  .join("\n") + "\n";

Deno.test("Vocabulary.parse reads pieces, ids and the blank", () => {
  const v = Vocabulary.parse(VOCAB);
  assert.equal(v.size, 9);
  assert.equal(v.blankId, 8);
  assert.equal(v.pieces[2], "▁wor");
});

Deno.test("Vocabulary.decode joins pieces into words and spaces punctuation like onnx-asr", () => {
  const v = Vocabulary.parse(VOCAB);
  assert.equal(v.decode([1, 4, 2, 3]), "hello, world");
  assert.equal(v.decode([5, 6, 7]), "Ça va?");
  assert.equal(v.decode([]), "");
  assert.equal(v.decode([8, 1, 8]), "hello"); // blanks carry no text
});

Deno.test("tidySpaces keeps a space only before a word character", () => {
  assert.equal(tidySpaces(" hello , world ."), "hello, world.");
  assert.equal(tidySpaces("  two"), " two"); // as Python's \A\s|\s\B|(\s)\b leaves it
  assert.equal(tidySpaces(" über  alles"), "über alles");
  assert.equal(tidySpaces(" 42 _x"), "42 _x");
});

Deno.test("Vocabulary.parse names the file and line of each defect", () => {
  assert.throws(() => Vocabulary.parse("", "m/vocab.txt"), /m\/vocab.txt: the vocabulary is empty/);
  assert.throws(
    () => Vocabulary.parse("a 0\nbroken\n<blk> 2\n"),
    /vocab.txt:2: expected "<piece> <id>"/,
  );
  assert.throws(() => Vocabulary.parse("a 0\nb x\n"), /vocab.txt:2: expected/);
  assert.throws(() => Vocabulary.parse("a 0\nb 0\n<blk> 2\n"), /vocab.txt:2: id 0 appears twice/);
  assert.throws(() => Vocabulary.parse("a 0\n<blk> 5\n"), /ids must run from 0 to 1; 1 is missing/);
  assert.throws(() => Vocabulary.parse("a 0\nb 1\n"), /no "<blk>" entry/);
});

Deno.test("Vocabulary.parse accepts CRLF line ends", () => {
  const v = Vocabulary.parse("▁a 0\r\n<blk> 1\r\n");
  assert.equal(v.decode([0]), "a");
});
