import assert from "node:assert/strict";
import { TranscriptDeltas } from "../../src/realtime/transcript_deltas.ts";

Deno.test("deltas: each is what the stable text adds; they concatenate to the final", () => {
  const d = new TranscriptDeltas();
  const out = [d.advance(""), d.advance("one"), d.advance("one"), d.advance("one two thr")];
  out.push(d.finish("one two three"));
  assert.deepEqual(out, ["", "one", "", " two thr", "ee"]);
  assert.equal(out.join(""), "one two three");
  assert.equal(d.sent, "one two three");
});

Deno.test("deltas: a partial showing only the tail of a long utterance (offset)", () => {
  const d = new TranscriptDeltas();
  d.advance("aa bb cc");
  // Starts at character 3 ("bb cc dd"): overlaps what was sent, so its new words go out.
  assert.equal(d.advance("bb cc dd", 3), " dd");
  // Starts beyond what was sent: nothing can be said until the final.
  assert.equal(d.advance("ff gg", 15), "");
  assert.equal(d.finish("aa bb cc dd ee ff gg"), " ee ff gg");
});

Deno.test("deltas: an unfinished multi-byte character is held back; a mismatch waits", () => {
  const d = new TranscriptDeltas();
  assert.equal(d.advance("caf\uFFFD"), "caf");
  assert.equal(d.advance("café"), "é");
  // Text that contradicts what was sent gives nothing, and a final that does too adds nothing.
  assert.equal(d.advance("cafe au"), "");
  assert.equal(d.finish("cafe au lait"), "");
});
