import assert from "node:assert/strict";
import { Pcm16Decoder, pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { int16Bytes } from "./wav_builder.ts";

const VALUES = [0, 1, -1, 32767, -32768, 12345, -23456, 256, -256];

Deno.test("pcm16ToFloat32 divides little-endian int16 by 32768", () => {
  const f = pcm16ToFloat32(int16Bytes(VALUES));
  assert.deepEqual([...f], VALUES.map((v) => Math.fround(v / 32768)));
  assert.equal(f[4], -1);
});

Deno.test("pcm16ToFloat32 ignores a trailing odd byte and works at an odd byte offset", () => {
  const bytes = new Uint8Array(1 + VALUES.length * 2 + 1);
  bytes.set(int16Bytes(VALUES), 1);
  const f = pcm16ToFloat32(bytes.subarray(1));
  assert.equal(f.length, VALUES.length);
  assert.deepEqual([...f], VALUES.map((v) => Math.fround(v / 32768)));
});

Deno.test("pcm16ToFloat32 writes into a caller's array and rejects one too small", () => {
  const out = new Float32Array(20);
  const view = pcm16ToFloat32(int16Bytes([16384, -16384]), out);
  assert.deepEqual([...view], [0.5, -0.5]);
  assert.equal(view.buffer, out.buffer);
  assert.throws(() => pcm16ToFloat32(int16Bytes([1, 2, 3]), new Float32Array(2)), RangeError);
});

Deno.test("Pcm16Decoder gives the same samples for every slicing of the byte stream", () => {
  const values = Array.from({ length: 501 }, (_, i) => ((i * 7919) % 65536) - 32768);
  const bytes = int16Bytes(values);
  const expected = pcm16ToFloat32(bytes);
  for (const sizes of [[1], [3], [2], [7, 1, 2], [999, 1], [1000, 5]]) {
    const dec = new Pcm16Decoder();
    const got: number[] = [];
    let off = 0;
    for (let k = 0; off < bytes.length; k++) {
      const len = Math.min(sizes[k % sizes.length], bytes.length - off);
      got.push(...dec.decode(bytes.subarray(off, off + len)));
      off += len;
    }
    assert.deepEqual(got, [...expected], `slices ${sizes}`);
    assert.equal(dec.hasPendingByte, false);
  }
});

Deno.test("Pcm16Decoder keeps an odd byte pending and reset() drops it", () => {
  const dec = new Pcm16Decoder();
  assert.equal(dec.decode(new Uint8Array([0x01])).length, 0);
  assert.equal(dec.hasPendingByte, true);
  assert.equal(dec.samplesFor(3), 2);
  const out = new Float32Array(4);
  assert.equal(dec.decodeInto(new Uint8Array([0x80, 0x00, 0x40]), out, 1), 2);
  assert.deepEqual([...out], [0, Math.fround(((0x8001 << 16) >> 16) / 32768), 0.5, 0]);
  assert.equal(dec.hasPendingByte, false);
  dec.decode(new Uint8Array([0xff]));
  dec.reset();
  assert.deepEqual([...dec.decode(new Uint8Array([0x00, 0x40]))], [0.5]);
  assert.equal(dec.decode(new Uint8Array(0)).length, 0);
});

Deno.test("Pcm16Decoder.decodeInto refuses an output that is too small", () => {
  const dec = new Pcm16Decoder();
  assert.throws(() => dec.decodeInto(new Uint8Array(10), new Float32Array(4)), RangeError);
});
