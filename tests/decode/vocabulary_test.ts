import assert from "node:assert/strict";
import { Vocabulary } from "../../src/decode/vocabulary.ts";

const VOCAB = ["<unk> 0", "▁hello 1", "▁wor 2", "ld 3", ", 4", "▁Ça 5", "▁va 6", "? 7", "<blk> 8"]
  .join("\n") + "\n";

Deno.test("Vocabulary.parse reads pieces, ids and the blank", () => {
  const v = Vocabulary.parse(VOCAB);
  assert.equal(v.size, 9);
  assert.equal(v.blankId, 8);
  assert.equal(v.pieces[2], "▁wor");
});

Deno.test("Vocabulary.decode joins pieces into words as SentencePiece does", () => {
  const v = Vocabulary.parse(VOCAB);
  assert.equal(v.decode([1, 4, 2, 3]), "hello, world");
  assert.equal(v.decode([5, 6, 7]), "Ça va?");
  assert.equal(v.decode([]), "");
  assert.equal(v.decode([8, 1, 8]), "hello"); // blanks carry no text
});

Deno.test("Vocabulary.decode keeps a space before ▁-prefixed punctuation, as the model wrote it", () => {
  const v = Vocabulary.parse(
    ["▁dijo 0", "▁¿", "qué 2", "? 3", "▁Bonjour 4", "▁! 5", "<blk> 6"].map((l, i) =>
      l.includes(" ") ? l : `${l} ${i}`
    ).join("\n"),
  );
  assert.equal(v.decode([0, 1, 2, 3]), "dijo ¿qué?");
  assert.equal(v.decode([4, 5]), "Bonjour !");
});

Deno.test("Vocabulary.decode hides markers and reads byte pieces as UTF-8", () => {
  const v = Vocabulary.parse(
    ["<unk>", "<|nospeech|>", "<pad>", "▁caf", "<0xC3>", "<0xA9>", "▁ok", "<0xFF>", "<blk>"]
      .map((p, i) => `${p} ${i}`).join("\n"),
  );
  assert.equal(v.decode([1, 3, 4, 5, 0, 6, 2]), "café ok");
  assert.equal(v.decode([1, 6]), "ok"); // a marker first: the next word's ▁ is still the start
  assert.equal(v.decode([6, 7]), " ok\uFFFD".trimStart()); // an invalid byte reads as U+FFFD
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
