import assert from "node:assert/strict";
import { AudioFileError } from "../../src/audio/audio_error.ts";
import { decodeAudio } from "../../src/audio/read_audio.ts";
import {
  cachedResamplers,
  MAX_FILTER_COEFFS,
  resample,
  Resampler,
} from "../../src/audio/resample.ts";
import { parseWav } from "../../src/audio/wav.ts";
import { pcmWav } from "./wav_header.ts";

const LIMITS = { maxDurationS: 600, timeoutMs: 60_000 };

function rejectsWith(code: string, pattern: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof AudioFileError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  };
}

Deno.test("a 244-byte WAV declaring 4,000,037 Hz is refused from its header: no filter is designed", async () => {
  const bomb = pcmWav(4_000_037, 16, 200);
  assert.equal(bomb.length, 244);
  const before = cachedResamplers();
  const t0 = performance.now();
  await assert.rejects(
    decodeAudio(bomb, "upload", { limits: LIMITS }),
    rejectsWith(
      "unsupported-sample-rate",
      /declares a sample rate of 4000037 Hz; expected a rate from 1000 to 384000 Hz/,
    ),
  );
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(cachedResamplers(), before);
});

Deno.test("a 20 KB 8-bit WAV at 4 Hz (1.4 h once resampled) is refused from its header", async () => {
  const bomb = pcmWav(4, 8, 20_000);
  await assert.rejects(
    // The reader takes the buffer (it goes to a worker): give it a copy.
    decodeAudio(bomb.slice(), "upload", { limits: LIMITS }),
    rejectsWith("unsupported-sample-rate", /declares a sample rate of 4 Hz/),
  );
  // parseWav itself, given limits, refuses before decoding a sample.
  assert.throws(
    () => parseWav(bomb, "x.wav", LIMITS),
    rejectsWith("unsupported-sample-rate", /4 Hz/),
  );
});

Deno.test("the sample-rate range is 1000 to 384000 Hz, both ends included", async () => {
  for (const rate of [1000, 384_000]) {
    const a = await decodeAudio(pcmWav(rate, 16, rate * 2 / 10), "upload", { limits: LIMITS });
    assert.equal(a.samples.length, 1600, `${rate} Hz: 0.1 s at 16 kHz`);
  }
  for (const rate of [999, 384_001]) {
    await assert.rejects(
      decodeAudio(pcmWav(rate, 16, 2000), "upload", { limits: LIMITS }),
      rejectsWith("unsupported-sample-rate", new RegExp(`${rate} Hz`)),
    );
  }
});

Deno.test("a WAV longer than MAX_UPLOAD_S is refused from its header, before decoding", async () => {
  // 601 s of 8 kHz 8-bit: 4.8 MB that would become 38 MB of samples.
  const long = pcmWav(8000, 8, 601 * 8000);
  const t0 = performance.now();
  await assert.rejects(
    decodeAudio(long, "upload", { limits: LIMITS }),
    rejectsWith(
      "too-long",
      /the audio lasts 601\.0 s, more than the limit of 600 s \(MAX_UPLOAD_S\)/,
    ),
  );
  assert.ok(performance.now() - t0 < 1000);
  const exact = await decodeAudio(pcmWav(8000, 8, 600 * 8000), "upload", { limits: LIMITS });
  assert.equal(exact.durationSec, 600);
});

Deno.test("the resampler keeps at most 4 filters, and no filter passes MAX_FILTER_COEFFS", () => {
  const x = new Float32Array(100);
  for (const rate of [8000, 11025, 22050, 44100, 48000, 96000, 32000, 24000, 12000, 383_999]) {
    resample(x, rate, 16000);
    assert.ok(cachedResamplers() <= 4, `${cachedResamplers()} filters after ${rate} Hz`);
  }
  // 383,999 Hz has 16000 phases of 3,210 taps unbounded (411 MB as float64).
  const odd = new Resampler(383_999, 16000);
  assert.ok(odd.filterSize <= MAX_FILTER_COEFFS, `${odd.filterSize} coefficients`);
  // The rounded phase costs nothing measurable: a 1 kHz sine keeps its amplitude.
  const n = 383_999 / 4;
  const sine = new Float32Array(n);
  for (let i = 0; i < n; i++) sine[i] = 0.5 * Math.sin((2 * Math.PI * 1000 * i) / 383_999);
  const y = odd.process(sine);
  let s = 0, c = 0;
  const a = Math.floor(y.length * 0.2), b = Math.floor(y.length * 0.8);
  for (let i = a; i < b; i++) {
    s += y[i] * Math.sin((2 * Math.PI * 1000 * i) / 16000);
    c += y[i] * Math.cos((2 * Math.PI * 1000 * i) / 16000);
  }
  const amp = (2 * Math.hypot(s, c)) / (b - a);
  assert.ok(Math.abs(amp - 0.5) < 0.005, `amplitude ${amp}`);
});

Deno.test("a WAV decode past the wall-clock limit is ended: decode-timeout", async () => {
  // Ten minutes at 44.1 kHz take seconds to resample; the limit is 50 ms.
  const long = pcmWav(44100, 16, 600 * 44100 * 2);
  const t0 = performance.now();
  await assert.rejects(
    decodeAudio(long, "upload", { limits: { maxDurationS: 3600, timeoutMs: 50 } }),
    rejectsWith("decode-timeout", /took more than 0\.05 s \(UPLOAD_DECODE_TIMEOUT_S\)/),
  );
  assert.ok(performance.now() - t0 < 1000);
});

Deno.test("aborting a WAV decode ends its worker and rejects with the signal's reason", async () => {
  const long = pcmWav(44100, 16, 600 * 44100 * 2);
  const abort = new AbortController();
  const decoding = decodeAudio(long, "upload", {
    limits: { maxDurationS: 3600, timeoutMs: 60_000 },
    signal: abort.signal,
  });
  await new Promise((r) => setTimeout(r, 100));
  const reason = new Error("client went away");
  const t0 = performance.now();
  abort.abort(reason);
  await assert.rejects(decoding, (e: unknown) => e === reason);
  assert.ok(performance.now() - t0 < 100);
});
