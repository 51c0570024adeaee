/**
 * Fuzzing the PCM16 decoders with audio of every length, at every byte offset, cut anywhere:
 * floor(n / 2) samples, each the little-endian int16 over 32768, so in [-1, 1); the stateful
 * decoder gives the same samples for every cutting of a stream (its promise), writes exactly
 * `samplesFor` of them, and refuses an output that cannot hold them with a RangeError only.
 */
import assert from "node:assert/strict";
import { Pcm16Decoder, pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { concat, fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";
import { int16Bytes } from "./wav_builder.ts";

const rng0 = seededRng(19);
const CORPUS = [
  int16Bytes([0, 1, -1, 32767, -32768, 16384, -16384]),
  randomBytes(rng0, 641),
  new Uint8Array(320),
  new Uint8Array([0xff]),
  new Uint8Array(0),
];

Deno.test("fuzz pcm16: whole buffers, at any offset, into any output", async () => {
  await fuzz(
    { seed: 0x916, corpus: CORPUS, cases: 6000, randomCases: 1000, maxRandomLength: 2000 },
    (
      input,
      rng,
    ) => {
      const at = rng.int(4);
      const bytes = concat(new Uint8Array(at), input).subarray(at);
      const out = pcm16ToFloat32(bytes);
      assert.equal(out.length, input.length >> 1);
      const view = new DataView(input.buffer, input.byteOffset, input.byteLength);
      for (let i = 0; i < out.length; i++) {
        assert.equal(out[i], view.getInt16(2 * i, true) / 32768);
        assert.ok(out[i] >= -1 && out[i] < 1);
      }
      const size = rng.int(out.length + 3);
      const dst = new Float32Array(size);
      if (size < out.length) {
        assert.throws(() => pcm16ToFloat32(bytes, dst), RangeError);
      } else {
        const got = pcm16ToFloat32(bytes, dst);
        assert.equal(got.buffer, dst.buffer);
        assert.deepEqual(got, out);
      }
    },
  );
});

Deno.test("fuzz pcm16: a stream cut anywhere decodes as the whole", async () => {
  await fuzz(
    { seed: 0x917, corpus: CORPUS, cases: 4000, randomCases: 500, maxRandomLength: 2000 },
    (
      input,
      rng,
    ) => {
      const whole = pcm16ToFloat32(input);
      const dec = new Pcm16Decoder();
      const got: number[] = [];
      let from = 0;
      while (from < input.length || rng.int(4) === 0) {
        const to = Math.min(input.length, from + rng.int(9));
        const chunk = input.subarray(from, to);
        const count = dec.samplesFor(chunk.length);
        if (rng.int(3) === 0) {
          // Into a caller's array at an offset: it fits, or the decoder refuses before a write.
          const offset = rng.int(4) - 1;
          const out = new Float32Array(rng.int(count + 5));
          const before = dec.hasPendingByte;
          if (offset < 0 || offset + count > out.length) {
            assert.throws(() => dec.decodeInto(chunk, out, offset), RangeError);
            assert.equal(dec.hasPendingByte, before, "a refused chunk changes nothing");
            assert.ok(out.every((v) => v === 0));
            continue;
          }
          assert.equal(dec.decodeInto(chunk, out, offset), count);
          got.push(...out.subarray(offset, offset + count));
        } else {
          const out = dec.decode(chunk);
          assert.equal(out.length, count);
          got.push(...out);
        }
        from = to;
      }
      assert.deepEqual(got, [...whole]);
      assert.equal(dec.hasPendingByte, input.length % 2 === 1);
    },
  );
});
