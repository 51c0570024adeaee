/**
 * Fuzzing the WAV reader with mutated files: plain, extensible, RF64, truncated, with unknown
 * and odd-sized chunks, and those sox and ffmpeg wrote. Every file is read or refused with an
 * AudioFileError naming it; what is read holds no more samples than the file has bytes for
 * (whatever the data chunk or ds64 claims), a rate and duration within the limits when given,
 * PCM samples in [-1, 1] and float ones finite. The header check run before a worker starts
 * refuses exactly what the full parse refuses from the header (it promises the same error), and
 * the PCM16 mono 16 kHz view is the file's own bytes, bounded by it.
 */
import assert from "node:assert/strict";
import { AudioFileError } from "../../src/audio/audio_error.ts";
import type { DecodeLimits } from "../../src/audio/decode_limits.ts";
import { MAX_SAMPLE_RATE, MIN_SAMPLE_RATE } from "../../src/audio/decode_limits.ts";
import { pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { Resampler } from "../../src/audio/resample.ts";
import {
  checkWavHeader,
  looksLikeWav,
  parseWav,
  readWav,
  wavPcm16Mono16k,
} from "../../src/audio/wav.ts";
import { concat, fuzz, randomBytes, type Rng, seededRng } from "../fuzz/mutator.ts";
import { fuzzStructured } from "../fuzz/json_mutator.ts";
import { buildWav, chunk, int16Bytes, rf64Wav } from "./wav_builder.ts";
import { wavOf } from "./wav_header.ts";

const FILE = "f.wav";
const LIMITS: DecodeLimits = { maxDurationS: 600, timeoutMs: 60_000 };
/** A limit most mutated rates and sizes pass over, so "too-long" comes up. */
const TIGHT: DecodeLimits = { maxDurationS: 0.01, timeoutMs: 60_000 };
const CODES = [
  "empty-file",
  "truncated-header",
  "not-wav",
  "missing-fmt",
  "missing-data",
  "unsupported-codec",
  "no-channels",
  "no-sample-rate",
  "no-samples",
  "non-finite-sample",
  "unsupported-sample-rate",
  "too-long",
];
/** Rates readWav is run at: each new rate designs a filter, so a few the cache keeps. */
const RESAMPLED_RATES = new Set([8000, 16000, 22050, 48000]);

function corpus(): Uint8Array[] {
  const rng = seededRng(11);
  const fixtures = new URL("../fixtures/audio/", import.meta.url);
  const f32 = new Uint8Array(new Float32Array([0.5, -0.25, 1, -1]).buffer);
  const f64 = new Uint8Array(new Float64Array([0.5, -0.25]).buffer);
  const nan = new Uint8Array(new Float32Array([0.5, NaN, -Infinity]).buffer);
  return [
    buildWav({ data: randomBytes(rng, 100) }),
    buildWav({ data: randomBytes(rng, 60), bitsPerSample: 8, sampleRate: 8000 }),
    buildWav({ data: randomBytes(rng, 72), bitsPerSample: 24, channels: 2, sampleRate: 48000 }),
    buildWav({ data: randomBytes(rng, 64), bitsPerSample: 32, sampleRate: 22050 }),
    buildWav({ data: f32, formatTag: 3, bitsPerSample: 32 }),
    buildWav({ data: f64, formatTag: 3, bitsPerSample: 64 }),
    buildWav({ data: nan, formatTag: 3, bitsPerSample: 32 }),
    buildWav({ extensibleSubFormat: 1, data: int16Bytes([16384, 3, -7]) }),
    buildWav({ extensibleSubFormat: 3, bitsPerSample: 32, data: f32 }),
    buildWav({
      before: [chunk("JUNK", [1, 2, 3])],
      between: [
        chunk("LIST", [...new TextEncoder().encode("INFOodd")]),
        chunk("fact", [4, 0, 0, 0]),
      ],
      after: [chunk("id3 ", [9])],
      data: int16Bytes([8192, -8192, 5]),
    }),
    buildWav({ data: int16Bytes([1, 2, 3]), declaredDataSize: 4000 }),
    buildWav({ data: int16Bytes([1, 2, 3, 4]), declaredDataSize: 0xffffffff }),
    buildWav({ data: randomBytes(rng, 40), channels: 6, bitsPerSample: 16 }),
    buildWav({ data: randomBytes(rng, 9), formatTag: 6, bitsPerSample: 8 }),
    rf64Wav([16384, -16384, 8192]),
    wavOf(randomBytes(rng, 200)),
    wavOf(randomBytes(rng, 64), 16000, 8, 2),
    ...["sine_alaw_8k.wav", "sine_u8_48k.wav", "sine_f64_22k05_list.wav"].map((f) =>
      Deno.readFileSync(new URL(f, fixtures))
    ),
  ];
}

function codeOf(fn: () => unknown): string | null {
  try {
    fn();
    return null;
  } catch (err) {
    if (!(err instanceof AudioFileError)) throw err;
    assert.ok(CODES.includes(err.code), err.code);
    assert.equal(err.file, FILE);
    assert.ok(err.message.startsWith(`Cannot read audio file "${FILE}": `), err.message);
    return err.code;
  }
}

function checkRead(
  bytes: Uint8Array,
  limits: DecodeLimits | undefined,
  tally?: Map<string, number>,
) {
  let wav: ReturnType<typeof parseWav> | null = null;
  const code = codeOf(() => (wav = parseWav(bytes, FILE, limits)));
  tally?.set(code ?? "read", (tally.get(code ?? "read") ?? 0) + 1);
  if (wav === null) return code;
  const { samples, sampleRate, channels, encoding, warnings } = wav as ReturnType<typeof parseWav>;
  assert.ok(looksLikeWav(bytes));
  assert.ok(Number.isInteger(channels) && channels >= 1 && channels <= 0xffff, `${channels}`);
  assert.ok(Number.isInteger(sampleRate) && sampleRate >= 1 && sampleRate <= 0xffffffff);
  assert.ok(samples.length >= 1);
  // At least a byte per channel per frame, besides the RIFF header, the fmt chunk (16 bytes of
  // body at least) and the data chunk's header.
  assert.ok(samples.length * channels <= bytes.length - 44, `${samples.length} frames`);
  if (limits) {
    assert.ok(sampleRate >= MIN_SAMPLE_RATE && sampleRate <= MAX_SAMPLE_RATE, `${sampleRate}`);
    assert.ok(samples.length / sampleRate <= limits.maxDurationS);
  }
  const m = /^(PCM|IEEE float) (\d+)-bit$/.exec(encoding);
  assert.ok(m, encoding);
  if (m[1] === "PCM") {
    for (const v of samples) assert.ok(v >= -1 && v <= 1, `${v}`);
  } else {
    assert.ok(m[2] === "32" || m[2] === "64", encoding);
    for (const v of samples) assert.ok(Number.isFinite(v), `${v}`);
  }
  assert.ok(Array.isArray(warnings) && warnings.every((w) => typeof w === "string"));
  return null;
}

function check(bytes: Uint8Array, rng: Rng, tally?: Map<string, number>): void {
  checkRead(bytes, undefined);
  const tight = checkRead(bytes, TIGHT, tally);
  const code = checkRead(bytes, LIMITS);

  // The header check refuses what the parse refuses, with its code, but for the samples it does
  // not read; with few chunks allowed it may leave a file to the parse, never refuse one the
  // parse reads.
  const fromHeader = (c: string | null) => c === "non-finite-sample" ? null : c;
  assert.equal(
    codeOf(() => checkWavHeader(bytes, FILE, LIMITS)),
    fromHeader(code),
    "checkWavHeader",
  );
  assert.equal(
    codeOf(() => checkWavHeader(bytes, FILE, TIGHT)),
    fromHeader(tight),
    "checkWavHeader, tight",
  );
  const few = codeOf(() => checkWavHeader(bytes, FILE, LIMITS, 1 + rng.int(4)));
  assert.ok(few === null || few === code, `${few} with few chunks, ${code} parsed`);

  let pcm: Uint8Array | null = null;
  try {
    pcm = wavPcm16Mono16k(bytes, FILE);
  } catch (err) {
    // Another format: a plain Error naming it; an unreadable file: the parse's AudioFileError.
    assert.ok(err instanceof Error);
    if (!(err instanceof AudioFileError)) {
      assert.match(err.message, /is not PCM 16-bit mono 16 kHz/);
    }
  }
  if (pcm !== null) {
    assert.equal(pcm.buffer, bytes.buffer, "a view of the file, not a copy");
    assert.ok(pcm.byteOffset >= bytes.byteOffset && pcm.length <= bytes.length);
    assert.deepEqual(pcm16ToFloat32(pcm), parseWav(bytes, FILE).samples);
  }

  if (code === null) {
    const wav = parseWav(bytes, FILE, LIMITS);
    if (RESAMPLED_RATES.has(wav.sampleRate)) {
      const at16k = readWav(bytes, FILE, 16000, LIMITS);
      const expected = wav.sampleRate === 16000
        ? wav.samples.length
        : new Resampler(wav.sampleRate, 16000).outputLength(wav.samples.length);
      assert.equal(at16k.samples.length, expected);
      assert.equal(at16k.sourceSampleRate, wav.sampleRate);
    }
  }
}

Deno.test("fuzz wav: byte mutations of WAV files", async () => {
  const tally = new Map<string, number>();
  await fuzz({ seed: 0x3a7, corpus: corpus(), cases: 12_000, randomCases: 500 }, (input, rng) => {
    // Half the time as a view that does not start its buffer, as an upload's bytes may be.
    const bytes = rng.next() < 0.5 ? input : concat(new Uint8Array(3), input).subarray(3);
    check(bytes, rng, tally);
  });
  for (const key of ["read", ...CODES]) assert.ok(tally.has(key), `${key}: never`);
});

/** Offsets of the header fields of a plain 44-byte WAV, with their widths. */
const FIELDS: [number, 2 | 4][] = [
  [4, 4], // RIFF size
  [16, 4], // fmt size
  [20, 2], // format tag
  [22, 2], // channels
  [24, 4], // sample rate
  [28, 4], // byte rate
  [32, 2], // block align
  [34, 2], // bits per sample
  [40, 4], // data size
];
const EDGES = [
  0,
  1,
  2,
  3,
  4,
  5,
  7,
  8,
  9,
  16,
  24,
  32,
  64,
  999,
  1000,
  16000,
  384_000,
  384_001,
  0x7fff,
  0x8000,
  0xfffe,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xffffffff,
];

Deno.test("fuzz wav: header fields set to edge values", async () => {
  const tally = new Map<string, number>();
  const rng0 = seededRng(13);
  const bases = [
    wavOf(randomBytes(rng0, 96)),
    wavOf(randomBytes(rng0, 33), 8000, 8),
    wavOf(randomBytes(rng0, 48), 48000, 16, 2),
  ];
  await fuzzStructured({
    seed: 0x3a8,
    cases: 20_000,
    make: (rng) => {
      const out = rng.pick(bases).slice();
      const view = new DataView(out.buffer);
      for (let n = 1 + rng.int(3); n > 0; n--) {
        const [at, width] = rng.pick(FIELDS);
        const v = rng.next() < 0.8 ? rng.pick(EDGES) : rng.int(2 ** 32);
        if (width === 2) view.setUint16(at, v & 0xffff, true);
        else view.setUint32(at, v >>> 0, true);
      }
      return rng.next() < 0.3 ? out.subarray(0, rng.int(out.length + 1)) : out;
    },
    show: (b) => Array.from(b.subarray(0, 48), (x) => x.toString(16).padStart(2, "0")).join(""),
  }, (bytes, rng) => check(bytes, rng, tally));
  for (const key of ["read", "too-long", "unsupported-sample-rate", "no-samples"]) {
    assert.ok(tally.has(key), `${key}: never`);
  }
});
