/**
 * Fuzzing the content sniffer with mutated container heads and random bytes: it never throws,
 * names one of its formats, reads no further than the 16 bytes it promises are enough, and
 * calls WAV exactly what the WAV reader's own test accepts.
 */
import assert from "node:assert/strict";
import { type SniffedFormat, sniffFormat } from "../../src/audio/sniff.ts";
import { looksLikeWav } from "../../src/audio/wav.ts";
import { concat, fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";
import { wavOf } from "./wav_header.ts";

const FORMATS: SniffedFormat[] = [
  "wav",
  "flac",
  "ogg",
  "mp3",
  "mp4",
  "aiff",
  "webm",
  "caf",
  "amr",
  "aac",
  "unknown",
];

const enc = new TextEncoder();
const rng0 = seededRng(17);
const tail = () => randomBytes(rng0, 24);

/** The first bytes of each container, a little of what follows. */
const HEADS = [
  wavOf(randomBytes(rng0, 16)),
  concat(enc.encode("RF64"), new Uint8Array(4), enc.encode("WAVE"), tail()),
  concat(enc.encode("BW64"), new Uint8Array(4), enc.encode("WAVE"), tail()),
  concat(enc.encode("fLaC"), tail()),
  concat(enc.encode("OggS"), tail()),
  concat(enc.encode("ID3"), tail()),
  concat(new Uint8Array([0xff, 0xfb, 0x90, 0x64]), tail()),
  concat(new Uint8Array([0xff, 0xf1, 0x50, 0x80]), tail()),
  concat(new Uint8Array([0, 0, 0, 0x20]), enc.encode("ftypM4A "), tail()),
  concat(enc.encode("FORM"), new Uint8Array(4), enc.encode("AIFF"), tail()),
  concat(enc.encode("FORM"), new Uint8Array(4), enc.encode("AIFC"), tail()),
  concat(new Uint8Array([0x1a, 0x45, 0xdf, 0xa3]), tail()),
  concat(enc.encode("caff"), tail()),
  concat(enc.encode("#!AMR\n"), tail()),
  enc.encode("#EXTM3U\n#EXT-X-VERSION:3\n"),
  new Uint8Array(0),
];

Deno.test("fuzz sniff: container heads mutated, and random bytes", async () => {
  const seen = new Set<SniffedFormat>();
  await fuzz(
    { seed: 0x5a1f, corpus: HEADS, cases: 30_000, randomCases: 5000, maxRandomLength: 32 },
    (
      input,
      rng,
    ) => {
      const format = sniffFormat(input);
      seen.add(format);
      assert.ok(FORMATS.includes(format), format);
      assert.equal(sniffFormat(input.subarray(0, 16)), format, "16 bytes are enough");
      assert.equal(format === "wav", looksLikeWav(input), "wav as the WAV reader sees it");
      // Bytes after the head, and where the head sits in its buffer, change nothing.
      const moved = concat(
        new Uint8Array(1 + rng.int(7)),
        input.subarray(0, 16),
        randomBytes(rng, 8),
      );
      const view = moved.subarray(moved.length - 8 - Math.min(16, input.length), moved.length - 8);
      assert.equal(sniffFormat(view), format);
    },
  );
  assert.deepEqual([...seen].sort(), [...FORMATS].sort(), "every format came up");
});
