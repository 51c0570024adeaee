import assert from "node:assert/strict";
import { resample, Resampler } from "../../src/audio/resample.ts";

function sine(rate: number, freq: number, seconds: number, amp = 0.5): Float32Array {
  const x = new Float32Array(Math.round(rate * seconds));
  for (let i = 0; i < x.length; i++) x[i] = amp * Math.sin((2 * Math.PI * freq * i) / rate);
  return x;
}

/** Amplitude and best-fit frequency check of a sine over the middle 60% (edges excluded). */
function amplitudeAt(y: Float32Array, freq: number, rate: number): number {
  const a = Math.floor(y.length * 0.2), b = Math.floor(y.length * 0.8);
  let s = 0, c = 0;
  for (let i = a; i < b; i++) {
    s += y[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    c += y[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(s, c)) / (b - a);
}

function rms(y: Float32Array): number {
  const a = Math.floor(y.length * 0.2), b = Math.floor(y.length * 0.8);
  let s = 0;
  for (let i = a; i < b; i++) s += y[i] * y[i];
  return Math.sqrt(s / (b - a));
}

const RATES = [8000, 11025, 12000, 22050, 24000, 32000, 44100, 48000, 88200, 96000, 44057];

Deno.test("Resampler keeps a 1 kHz sine's frequency and amplitude within 0.1 dB at every rate", () => {
  for (const rate of RATES) {
    const y = resample(sine(rate, 1000, 0.5), rate, 16000);
    const db = 20 * Math.log10(amplitudeAt(y, 1000, 16000) / 0.5);
    assert.ok(Math.abs(db) < 0.1, `${rate} Hz: ${db.toFixed(4)} dB`);
    // Frequency kept: the residual after removing the fitted 1 kHz sine is tiny.
    const amp990 = amplitudeAt(y, 990, 16000);
    assert.ok(amp990 < 0.05, `${rate} Hz: energy at 990 Hz ${amp990}`);
  }
});

Deno.test("Resampler attenuates tones above 8 kHz by more than 60 dB when downsampling", () => {
  for (
    const [rate, freq] of [[44100, 8100], [44100, 9000], [44100, 15000], [48000, 8500], [
      22050,
      10000,
    ], [96000, 30000]]
  ) {
    const y = resample(sine(rate, freq, 0.5), rate, 16000);
    const db = 20 * Math.log10(rms(y) / (0.5 / Math.SQRT2));
    assert.ok(db < -60, `${freq} Hz in ${rate} Hz input: ${db.toFixed(1)} dB`);
  }
});

Deno.test("Resampler output length is round(n · 16000 / rate), halves up", () => {
  for (const rate of RATES) {
    const r = new Resampler(rate, 16000);
    for (const n of [0, 1, 2, 3, 7, 441, 1000, 44101, 48001]) {
      const expected = Math.floor((2 * n * 16000 + rate) / (2 * rate));
      assert.equal(r.outputLength(n), expected, `${rate}: n=${n}`);
      assert.equal(r.process(new Float32Array(n)).length, expected);
    }
  }
  assert.equal(new Resampler(44100, 16000).outputLength(441), 160);
  assert.equal(new Resampler(32000, 16000).outputLength(3), 2); // 1.5 rounds up
});

Deno.test("resample at equal rates returns the input; DC stays DC", () => {
  const x = sine(16000, 440, 0.1);
  assert.equal(resample(x, 16000, 16000), x);
  const dc = resample(new Float32Array(4410).fill(0.25), 44100, 16000);
  for (let i = 200; i < dc.length - 200; i++) assert.ok(Math.abs(dc[i] - 0.25) < 1e-6);
});

Deno.test("Resampler rejects bad rates and options", () => {
  assert.throws(() => new Resampler(0, 16000), /from rate must be a positive integer, got 0/);
  assert.throws(() => new Resampler(44100.5, 16000), RangeError);
  assert.throws(() => new Resampler(44100, 16000, { transition: 0 }), RangeError);
});
