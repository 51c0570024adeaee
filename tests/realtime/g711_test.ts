import assert from "node:assert/strict";
import { decodeAlaw, decodeMulaw } from "../../src/realtime/g711.ts";

// Reference values of the ITU-T G.711 decoder, as Python's audioop.ulaw2lin / alaw2lin give them
// (the tables agree with audioop on all 256 codes of both laws).
const int16 = (x: number) => Math.round(x * 32768);

Deno.test("μ-law: silence, both extremes, and a mid value decode as G.711 says", () => {
  const out = Array.from(decodeMulaw(new Uint8Array([0xff, 0x7f, 0x00, 0x80, 0xa5, 0x25])), int16);
  assert.deepEqual(out, [0, 0, -32124, 32124, 6652, -6652]);
});

Deno.test("A-law: the smallest steps, both extremes, and a mid value decode as G.711 says", () => {
  const out = Array.from(decodeAlaw(new Uint8Array([0xd5, 0x55, 0xaa, 0x2a, 0xa5, 0x25])), int16);
  assert.deepEqual(out, [8, -8, 32256, -32256, 16896, -16896]);
});

Deno.test("G.711: every byte decodes into [-1, 1) and the codes are symmetric about zero", () => {
  const all = new Uint8Array(256).map((_, i) => i);
  for (const decode of [decodeMulaw, decodeAlaw]) {
    const out = decode(all);
    for (let i = 0; i < 256; i++) {
      assert.ok(out[i] >= -1 && out[i] < 1);
      // The sign bit is the top bit: flipping it negates the value.
      assert.equal(out[i] + out[i ^ 0x80], 0);
    }
  }
});
