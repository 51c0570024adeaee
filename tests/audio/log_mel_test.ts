import assert from "node:assert/strict";
import { RealFft } from "../../src/audio/fft.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import {
  logMelConfig,
  PARAKEET_LOG_MEL_CONFIG,
  validFrameCount,
} from "../../src/audio/log_mel_config.ts";
import { melFilterbank } from "../../src/audio/mel_filterbank.ts";
import { normalizePerFeature } from "../../src/audio/normalize_features.ts";
import { StreamingLogMel } from "../../src/audio/streaming_log_mel.ts";
import { paddedWindow } from "../../src/audio/window.ts";

/** Deterministic speech-like test signal: harmonics with a wandering pitch, noise, silence. */
function testSignal(n: number, seed = 1): Float32Array {
  let s = seed;
  const rand = () => ((s = (s * 1103515245 + 12345) >>> 0) / 2 ** 32) - 0.5;
  const x = new Float32Array(n);
  let phase = 0;
  for (let i = 0; i < n; i++) {
    const f0 = 120 + 40 * Math.sin(i / 4000);
    phase += (2 * Math.PI * f0) / 16000;
    let v = 0;
    for (let h = 1; h <= 12; h++) v += Math.sin(h * phase) / h;
    x[i] = 0.2 * v * (0.5 + 0.5 * Math.sin(i / 2500)) + 0.01 * rand();
  }
  x.fill(0, Math.floor(n * 0.4), Math.floor(n * 0.5)); // digital silence
  return x;
}

function bytesOf(a: Float32Array): Uint8Array {
  return new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
}

Deno.test("RealFft power spectrum equals a direct DFT", () => {
  for (const size of [8, 64, 512]) {
    const fft = new RealFft(size);
    const x = new Float64Array(size).map((_, i) =>
      Math.sin(i * 0.37) + 0.1 * Math.cos(i * 2.1) + (i % 5) * 1e-3
    );
    const p = new Float64Array(size / 2 + 1);
    fft.powerSpectrum(x, p);
    for (let k = 0; k <= size / 2; k++) {
      let re = 0, im = 0;
      for (let n = 0; n < size; n++) {
        re += x[n] * Math.cos((2 * Math.PI * k * n) / size);
        im -= x[n] * Math.sin((2 * Math.PI * k * n) / size);
      }
      const q = re * re + im * im;
      assert.ok(Math.abs(q - p[k]) <= 1e-9 * (1 + q), `size ${size} bin ${k}: ${p[k]} vs ${q}`);
    }
  }
  assert.throws(() => new RealFft(500), /power of two/);
});

Deno.test("paddedWindow is torch.hann_window(400, periodic=False) centred in 512", () => {
  const w = paddedWindow(PARAKEET_LOG_MEL_CONFIG);
  assert.equal(w.length, 512);
  for (let i = 0; i < 56; i++) assert.equal(w[i], 0);
  for (let i = 456; i < 512; i++) assert.equal(w[i], 0);
  // Values of torch.hann_window(400, periodic=False) (float32).
  assert.equal(w[56], 0);
  assert.equal(w[57], Math.fround(6.1988831e-05));
  assert.equal(w[58], Math.fround(2.4795532e-04));
  assert.equal(w[56 + 199], Math.fround(0.9999845));
  assert.equal(w[455], 0);
});

Deno.test("melFilterbank equals librosa.filters.mel(16000, 512, 128, norm='slaney') (float32)", () => {
  const fb = melFilterbank(PARAKEET_LOG_MEL_CONFIG);
  assert.equal(fb.length, 128);
  // Nonzero weights from librosa 0.11 (the values NeMo 3.0 registers as its `fb` buffer).
  const expected: [number, number, number[]][] = [
    [0, 1, [0.02837754227221012]],
    [40, 30, [0.004004734568297863, 0.024372806772589684]],
    [127, 244, [
      4.7641340643167496e-05,
      0.0009394199587404728,
      0.001831198576837778,
      0.002722977427765727,
      0.0036147558130323887,
      0.004506534431129694,
      0.005223188549280167,
      0.004352657124400139,
      0.0034821254666894674,
      0.0026115942746400833,
      0.0017410627333447337,
      0.0008705313666723669,
    ]],
  ];
  for (const [m, start, weights] of expected) {
    assert.equal(fb[m].start, start, `filter ${m}`);
    assert.deepEqual([...fb[m].weights], weights, `filter ${m}`);
  }
  assert.equal(fb.reduce((n, f) => n + f.weights.length, 0), 504); // librosa: 504 nonzeros
});

Deno.test("validFrameCount is NeMo 3.0's floor(n / hop)", () => {
  assert.equal(validFrameCount(47071, PARAKEET_LOG_MEL_CONFIG), 294);
  assert.equal(validFrameCount(160, PARAKEET_LOG_MEL_CONFIG), 1);
  assert.equal(validFrameCount(159, PARAKEET_LOG_MEL_CONFIG), 0);
  assert.equal(validFrameCount(0, PARAKEET_LOG_MEL_CONFIG), 0);
});

Deno.test("StreamingLogMel gives bit-identical features for any slicing of the stream", () => {
  const x = testSignal(16000 * 3 + 77);
  const offline = new LogMelExtractor().extract(x);
  assert.equal(offline.frames, 301);
  assert.equal(offline.validFrames, 300);
  for (const sizes of [[1], [160], [7, 331, 2], [4096], [255, 256, 257], [x.length]]) {
    const stream = new StreamingLogMel(PARAKEET_LOG_MEL_CONFIG, 4);
    let off = 0;
    for (let k = 0; off < x.length; k++) {
      const len = Math.min(sizes[k % sizes.length], x.length - off);
      stream.push(x.subarray(off, off + len));
      off += len;
      // A frame exists as soon as the samples it spans have arrived, and not before.
      assert.equal(stream.frameCount, Math.max(0, Math.floor((off - 256) / 160) + 1));
    }
    stream.flush();
    assert.equal(stream.frameCount, offline.frames);
    const out: Float32Array = new Float32Array(128 * offline.frames);
    normalizePerFeature(stream, 0, stream.validFrameCount, out, offline.frames);
    assert.deepEqual(bytesOf(out), bytesOf(offline.features), `slices ${sizes}`);
  }
});

Deno.test("normalizePerFeature normalises a window into a padded [128, T] batch row", () => {
  const stream = new StreamingLogMel();
  stream.push(testSignal(16000 * 2));
  const [a, b, cols] = [37, 137, 120];
  const out = new Float32Array(128 * cols).fill(NaN);
  normalizePerFeature(stream, a, b, out, cols);
  for (const m of [0, 5, 64, 127]) {
    const row = out.subarray(m * cols, m * cols + (b - a));
    const mean = row.reduce((s, v) => s + v, 0) / row.length;
    const variance = row.reduce((s, v) => s + (v - mean) ** 2, 0) / (row.length - 1);
    assert.ok(Math.abs(mean) < 1e-5, `mel ${m} mean ${mean}`);
    assert.ok(Math.abs(Math.sqrt(variance) - 1) < 1e-3, `mel ${m} std ${Math.sqrt(variance)}`);
    for (let t = b - a; t < cols; t++) assert.equal(out[m * cols + t], 0);
    // Feature-major: value (m, t) is raw frame a + t normalised.
    const raw = stream.frame(a + 3)[m];
    let s = 0, s2 = 0;
    for (let t = a; t < b; t++) s += stream.frame(t)[m];
    const mu = s / (b - a);
    for (let t = a; t < b; t++) s2 += (stream.frame(t)[m] - mu) ** 2;
    const expected = (raw - mu) / (Math.sqrt(s2 / (b - a - 1)) + 1e-5);
    assert.ok(Math.abs(out[m * cols + 3] - expected) < 1e-5);
  }
  assert.throws(() => normalizePerFeature(stream, 0, stream.frameCount + 1, out, 4000), RangeError);
  assert.throws(() => normalizePerFeature(stream, 0, 100, out, 50), RangeError);
});

Deno.test("StreamingLogMel.discardBefore releases old frames and keeps the rest intact", () => {
  const x = testSignal(16000 * 4);
  const whole = new StreamingLogMel();
  whole.push(x);
  const s = new StreamingLogMel(PARAKEET_LOG_MEL_CONFIG, 8);
  for (let off = 0; off < x.length; off += 1600) {
    s.push(x.subarray(off, off + 1600));
    s.discardBefore(s.frameCount - 50);
  }
  assert.equal(s.frameCount, whole.frameCount);
  assert.equal(s.firstFrame, s.frameCount - 50);
  for (let t = s.firstFrame; t < s.frameCount; t++) {
    assert.deepEqual(bytesOf(s.frame(t)), bytesOf(whole.frame(t)));
  }
  assert.throws(() => s.frame(0), /frames \d+…\d+ are held/);
  const a = new Float32Array(128 * 50), b = new Float32Array(128 * 50);
  normalizePerFeature(s, s.firstFrame, s.frameCount, a);
  normalizePerFeature(whole, s.firstFrame, s.frameCount, b);
  assert.deepEqual(bytesOf(a), bytesOf(b));
});

Deno.test("StreamingLogMel: flush ends the stream, reset starts a new one", () => {
  const s = new StreamingLogMel();
  s.push(testSignal(1000));
  assert.equal(s.frameCount, 5); // frames 0..4 span samples up to 4·160 + 256 ≤ 1000
  assert.equal(s.flush(), 2); // floor(1000/160) + 1 = 7 frames in all
  assert.equal(s.validFrameCount, 6);
  assert.throws(() => s.push(new Float32Array(1)), /flushed log-mel stream: call reset\(\) first/);
  s.reset();
  assert.equal(s.frameCount, 0);
  s.push(testSignal(1000));
  assert.equal(s.frameCount, 5);
});

Deno.test("LogMelExtractor edge cases: no audio, one frame, silence", () => {
  const ex = new LogMelExtractor();
  const empty = ex.extract(new Float32Array(0));
  assert.equal(empty.validFrames, 0);
  assert.ok(empty.features.every((v) => v === 0));
  const one = ex.extract(testSignal(200));
  assert.equal(one.validFrames, 1);
  assert.equal(one.frames, 2);
  assert.ok(one.features.every((v) => v === 0)); // (x − mean) / (0 + 1e-5) = 0
  const silent = ex.extract(new Float32Array(16000));
  assert.ok(silent.features.every((v) => v === 0));
});

Deno.test("LogMelExtractor takes another model's config (80 mels, 20 ms window, no pre-emphasis)", () => {
  const ex = new LogMelExtractor({ nMels: 80, windowLength: 320, preemph: null });
  const f = ex.extract(testSignal(16000));
  assert.equal(f.nMels, 80);
  assert.equal(f.features.length, 80 * 101);
  assert.ok(f.features.every(Number.isFinite));
  assert.throws(() => logMelConfig({ nFft: 300 }), /nFft must be a power of two/);
  assert.throws(() => logMelConfig({ fmax: 9000 }), /fmax ≤ sampleRate\/2/);
  const raw = new LogMelExtractor({ normalize: "none" }).extract(testSignal(1600));
  assert.ok(raw.features[0] < 0 && raw.features[0 * 11 + 10] === 0);
});
