/**
 * Fuzzing the G.711 decoders with appended audio of any length, at any byte offset of its
 * buffer: one float per byte, each in [-1, 1) and each the code's own value (the decoders are
 * stateless, so a buffer decodes as its bytes do one by one, however it is cut).
 */
import assert from "node:assert/strict";
import { decodeAlaw, decodeMulaw } from "../../src/realtime/g711.ts";
import { concat, fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";

const CODES = new Uint8Array(256).map((_, i) => i);
const rng0 = seededRng(3);

for (const [law, decode] of [["μ-law", decodeMulaw], ["A-law", decodeAlaw]] as const) {
  const table = decode(CODES);

  Deno.test(`fuzz G.711 ${law}: any bytes at any offset decode code by code`, async () => {
    const corpus = [
      CODES,
      randomBytes(rng0, 160),
      new Uint8Array(320).fill(0xff),
      new Uint8Array(0),
    ];
    await fuzz({ seed: 0x6711, corpus, cases: 3000, randomCases: 1000, maxRandomLength: 4000 }, (
      input,
      rng,
    ) => {
      // A view that does not start its buffer, as an append's decoded base64 may be cut.
      const at = rng.int(8);
      const view = concat(new Uint8Array(at), input).subarray(at);
      const out = decode(view);
      assert.equal(out.length, input.length);
      for (let i = 0; i < out.length; i++) {
        assert.ok(out[i] >= -1 && out[i] < 1, `${out[i]}`);
        assert.equal(out[i], table[input[i]]);
      }
      const cut = rng.int(input.length + 1);
      const parts = [decode(input.subarray(0, cut)), decode(input.subarray(cut))];
      assert.deepEqual(new Float32Array([...parts[0], ...parts[1]]), out);
    });
  });
}
