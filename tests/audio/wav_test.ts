import assert from "node:assert/strict";
import { AudioFileError } from "../../src/audio/audio_error.ts";
import { parseWav, readWav } from "../../src/audio/wav.ts";
import { buildWav, chunk, int16Bytes, rf64Wav } from "./wav_builder.ts";

const FIX = new URL("../fixtures/audio/", import.meta.url);

/** Amplitude of a `freq` sine in `x` (least squares over the middle 60%). */
function toneAmplitude(x: Float32Array, freq: number, rate: number): number {
  const a = Math.floor(x.length * 0.2), b = Math.floor(x.length * 0.8);
  let s = 0, c = 0;
  for (let i = a; i < b; i++) {
    s += x[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    c += x[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(s, c)) / (b - a);
}

function assertAudioError(fn: () => unknown, code: string, ...fragments: string[]) {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof AudioFileError, `expected AudioFileError, got ${err}`);
    assert.equal(err.code, code, err.message);
    assert.ok(err.message.startsWith(`Cannot read audio file "bad.wav": `), err.message);
    for (const f of fragments) assert.ok(err.message.includes(f), `"${err.message}" lacks "${f}"`);
    return true;
  });
}

Deno.test("parseWav reads mono PCM16 exactly", () => {
  const wav = parseWav(buildWav({ data: int16Bytes([0, 16384, -32768, 32767]) }));
  assert.deepEqual([...wav.samples], [0, 0.5, -1, Math.fround(32767 / 32768)]);
  assert.equal(wav.sampleRate, 16000);
  assert.equal(wav.channels, 1);
  assert.equal(wav.encoding, "PCM 16-bit");
  assert.deepEqual(wav.warnings, []);
});

Deno.test("parseWav averages channels to mono", () => {
  const wav = parseWav(buildWav({ channels: 2, data: int16Bytes([16384, 0, -16384, -16384]) }));
  assert.deepEqual([...wav.samples], [0.25, -0.5]);
});

Deno.test("parseWav decodes 8-bit unsigned, 24- and 32-bit int, float32 and float64", () => {
  const u8 = parseWav(buildWav({ bitsPerSample: 8, data: new Uint8Array([128, 255, 0, 192]) }));
  assert.deepEqual([...u8.samples], [0, 127 / 128, -1, 0.5]);
  const b24 = new Uint8Array([0x00, 0x00, 0x40, 0xff, 0xff, 0xff, 0x00, 0x00, 0x80]);
  const p24 = parseWav(buildWav({ bitsPerSample: 24, data: b24 }));
  assert.deepEqual([...p24.samples], [0.5, Math.fround(-1 / 8388608), -1]);
  const b32 = new Uint8Array(8);
  new DataView(b32.buffer).setInt32(0, 1 << 30, true);
  new DataView(b32.buffer).setInt32(4, -(2 ** 31), true);
  assert.deepEqual([...parseWav(buildWav({ bitsPerSample: 32, data: b32 })).samples], [0.5, -1]);
  const f32 = new Uint8Array(new Float32Array([0.25, -0.75]).buffer);
  const w32 = parseWav(buildWav({ formatTag: 3, bitsPerSample: 32, data: f32 }));
  assert.deepEqual([...w32.samples], [0.25, -0.75]);
  assert.equal(w32.encoding, "IEEE float 32-bit");
  const f64 = new Uint8Array(new Float64Array([0.125, -0.5]).buffer);
  const w64 = parseWav(buildWav({ formatTag: 3, bitsPerSample: 64, data: f64 }));
  assert.deepEqual([...w64.samples], [0.125, -0.5]);
});

Deno.test("parseWav reads WAVE_FORMAT_EXTENSIBLE PCM and float", () => {
  const pcm = parseWav(buildWav({ extensibleSubFormat: 1, data: int16Bytes([16384]) }));
  assert.deepEqual([...pcm.samples], [0.5]);
  const f = new Uint8Array(new Float32Array([0.5]).buffer);
  const flt = parseWav(buildWav({ extensibleSubFormat: 3, bitsPerSample: 32, data: f }));
  assert.deepEqual([...flt.samples], [0.5]);
});

Deno.test("parseWav skips unknown chunks and odd-sized chunk padding", () => {
  const wav = parseWav(buildWav({
    before: [chunk("JUNK", [1, 2, 3])],
    between: [chunk("LIST", [...new TextEncoder().encode("INFOodd")]), chunk("fact", [4, 0, 0, 0])],
    after: [chunk("id3 ", [9])],
    data: int16Bytes([8192, -8192]),
  }));
  assert.deepEqual([...wav.samples], [0.25, -0.25]);
});

Deno.test("parseWav decodes a truncated data chunk as far as it goes, with a warning", () => {
  // Decision: the audio present is intact; refusing it would lose a recording cut short.
  const wav = parseWav(buildWav({ data: int16Bytes([16384, 8192, 1]), declaredDataSize: 1000 }));
  assert.deepEqual([...wav.samples], [0.5, 0.25, Math.fround(1 / 32768)]);
  assert.equal(wav.warnings.length, 1);
  assert.match(wav.warnings[0], /declares 1000 bytes but only 6 follow/);
  const odd = parseWav(
    buildWav({ data: new Uint8Array([0, 0x40, 0x11]), declaredDataSize: 0xffffffff }),
  );
  assert.deepEqual([...odd.samples], [0.5]);
  assert.equal(odd.warnings.length, 2);
  assert.match(odd.warnings[1], /ignoring the last 1 bytes/);
});

Deno.test("parseWav errors name the file, the problem and the expectation", () => {
  const ok = int16Bytes([1, 2]);
  const cases: [Uint8Array, string, ...string[]][] = [
    [new Uint8Array(0), "empty-file", "the file is empty (0 bytes)"],
    [new Uint8Array([0x52, 0x49, 0x46, 0x46, 1]), "truncated-header", "5 bytes, shorter than"],
    [new TextEncoder().encode("ID3\x04\x00\x00\x00\x00\x00\x00\x00\x00junk"), "not-wav", "ID3"],
    [buildWav({ data: ok, omitFmt: true }), "missing-fmt", "no fmt chunk"],
    [buildWav({ data: ok, omitData: true }), "missing-data", "no data chunk"],
    [
      buildWav({ data: ok, formatTag: 6, bitsPerSample: 8 }),
      "unsupported-codec",
      "A-law (format tag 0x0006)",
    ],
    [buildWav({ data: ok, formatTag: 0x55 }), "unsupported-codec", "MP3 (format tag 0x0055)"],
    [
      buildWav({ data: ok, formatTag: 0x11, bitsPerSample: 4 }),
      "unsupported-codec",
      "IMA ADPCM (format tag 0x0011)",
    ],
    [
      buildWav({ data: ok, extensibleSubFormat: 2 }),
      "unsupported-codec",
      "Microsoft ADPCM (format tag 0x0002)",
    ],
    [buildWav({ data: ok, channels: 0, blockAlign: 2 }), "no-channels", "0 channels"],
    [buildWav({ data: ok, sampleRate: 0 }), "no-sample-rate", "0 Hz"],
    [buildWav({ data: new Uint8Array(0) }), "no-samples", "no complete sample frame (0 bytes)"],
    [buildWav({ data: new Uint8Array([7]) }), "no-samples", "(1 bytes)"],
    [buildWav({ data: ok, bitsPerSample: 48 }), "unsupported-codec", "PCM with 48 bits"],
  ];
  for (const [bytes, code, ...fragments] of cases) {
    assertAudioError(() => parseWav(bytes, "bad.wav"), code, ...fragments);
  }
  // And every message says what was expected.
  try {
    parseWav(buildWav({ data: ok, formatTag: 6, bitsPerSample: 8 }), "bad.wav");
  } catch (err) {
    assert.match(
      String((err as Error).message),
      /; expected PCM 8\/16\/24\/32-bit integer or IEEE float/,
    );
  }
});

Deno.test("parseWav reads WAV variants written by sox and ffmpeg", () => {
  const cases: [string, number, number, string, number][] = [
    ["sine_pcm24_stereo_44k1.wav", 44100, 2, "PCM 24-bit", 0.375],
    ["sine_f64_22k05_list.wav", 22050, 1, "IEEE float 64-bit", 0.125],
    ["sine_u8_48k.wav", 48000, 1, "PCM 8-bit", 0.125],
  ];
  for (const [file, rate, channels, encoding, amplitude] of cases) {
    const wav = parseWav(Deno.readFileSync(new URL(file, FIX)), file);
    assert.equal(wav.sampleRate, rate, file);
    assert.equal(wav.channels, channels, file);
    assert.equal(wav.encoding, encoding, file);
    assert.ok(Math.abs(toneAmplitude(wav.samples, 1000, rate) - amplitude) < 0.01, file);
    const at16k = readWav(Deno.readFileSync(new URL(file, FIX)), file);
    assert.equal(at16k.sampleRate, 16000);
    assert.equal(at16k.samples.length, Math.round((wav.samples.length * 16000) / rate), file);
    assert.ok(Math.abs(toneAmplitude(at16k.samples, 1000, 16000) - amplitude) < 0.01, file);
  }
  assertAudioError(
    () => parseWav(Deno.readFileSync(new URL("sine_alaw_8k.wav", FIX)), "bad.wav"),
    "unsupported-codec",
    "A-law (format tag 0x0006)",
  );
});

Deno.test("parseWav reads RF64 with the data size from the ds64 chunk", () => {
  const out = rf64Wav([16384, -16384, 8192]);
  const wav = parseWav(out);
  assert.deepEqual([...wav.samples], [0.5, -0.5, 0.25]);
  assert.deepEqual(wav.warnings, []);
});

Deno.test("parseWav refuses float samples that are NaN or infinite; huge finite ones are kept", () => {
  const f32 = (values: number[]) => new Uint8Array(new Float32Array(values).buffer);
  const f64 = (values: number[]) => new Uint8Array(new Float64Array(values).buffer);
  for (const bad of [NaN, Infinity, -Infinity]) {
    assertAudioError(
      () =>
        parseWav(
          buildWav({ formatTag: 3, bitsPerSample: 32, data: f32([0.5, bad, 0]) }),
          "bad.wav",
        ),
      "non-finite-sample",
      `sample frame 1 decodes to ${bad}`,
    );
    assertAudioError(
      () => parseWav(buildWav({ formatTag: 3, bitsPerSample: 64, data: f64([bad]) }), "bad.wav"),
      "non-finite-sample",
      `decodes to ${bad}`,
    );
    // One bad channel spoils its frame's mix.
    const stereo = buildWav({
      formatTag: 3,
      bitsPerSample: 32,
      channels: 2,
      data: f32([0, 0, 1, bad]),
    });
    assertAudioError(() => parseWav(stereo, "bad.wav"), "non-finite-sample", "sample frame 1");
  }
  // A float64 sample past float32's range would be stored as Infinity.
  assertAudioError(
    () => parseWav(buildWav({ formatTag: 3, bitsPerSample: 64, data: f64([1e300]) }), "bad.wav"),
    "non-finite-sample",
    "decodes to Infinity",
  );
  const huge = [1e30, -1e30, 3.4e38, -3.4e38, 0.5];
  const w32 = parseWav(buildWav({ formatTag: 3, bitsPerSample: 32, data: f32(huge) }));
  assert.deepEqual([...w32.samples], huge.map(Math.fround));
  const w64 = parseWav(buildWav({ formatTag: 3, bitsPerSample: 64, data: f64(huge) }));
  assert.deepEqual([...w64.samples], huge.map(Math.fround));
});
