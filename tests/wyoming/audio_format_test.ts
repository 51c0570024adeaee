import assert from "node:assert/strict";
import { resample } from "../../src/audio/resample.ts";
import { pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { parseAudioFormat, PcmConverter } from "../../src/wyoming/audio_format.ts";
import { StreamingResampler } from "../../src/wyoming/streaming_resampler.ts";
import { concatFloats } from "../typed_concat.ts";

/** A deterministic test signal: two tones and a little noise. */
function signal(n: number, rate: number): Float32Array {
  const out = new Float32Array(n);
  let s = 12345;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = 0.4 * Math.sin(2 * Math.PI * 440 * i / rate) +
      0.2 * Math.sin(2 * Math.PI * 3100 * i / rate) + 0.05 * (s / 2147483648 - 0.5);
  }
  return out;
}

Deno.test("streaming resampler: pieces of any size give the whole-signal output exactly", () => {
  for (const from of [22050, 44100, 48000, 8000, 11025, 32000, 96000, 19_997]) {
    const input = signal(Math.round(from * 0.7) + 13, from);
    const whole = resample(input, from, 16000);
    for (const piece of [1, 7, 160, 1024, 4099]) {
      const r = new StreamingResampler(from, 16000);
      const out: Float32Array[] = [];
      for (let at = 0; at < input.length; at += piece) {
        out.push(r.push(input.subarray(at, at + piece)));
      }
      out.push(r.end());
      const got = concatFloats(out);
      assert.equal(got.length, whole.length, `${from} Hz in pieces of ${piece}`);
      assert.deepEqual(got, whole, `${from} Hz in pieces of ${piece}`);
    }
  }
});

Deno.test("streaming resampler: output keeps pace with input (no more than a filter's delay)", () => {
  const r = new StreamingResampler(22050, 16000);
  let out = 0;
  for (let i = 0; i < 100; i++) out += r.push(signal(1024, 22050)).length;
  // 100 · 1024 samples at 22.05 kHz are 74,303 at 16 kHz; the filter holds back < 40 ms.
  assert.ok(out > 74_303 - 640, `${out}`);
  assert.ok(out <= 74_303);
});

Deno.test("audio format: rates, widths and channels outside the bounds are refused", () => {
  assert.ok(parseAudioFormat({ rate: 16000, width: 2, channels: 1 }).ok);
  assert.ok(parseAudioFormat({ rate: 192000, width: 4, channels: 8 }).ok);
  for (
    const bad of [
      { rate: 3999, width: 2, channels: 1 },
      { rate: 1e9, width: 2, channels: 1 },
      { rate: 16000.5, width: 2, channels: 1 },
      { rate: "16000", width: 2, channels: 1 },
      { width: 2, channels: 1 },
      { rate: 16000, width: 3, channels: 1 },
      { rate: 16000, width: 8, channels: 1 },
      { rate: 16000, width: 2, channels: 0 },
      { rate: 16000, width: 2, channels: 9 },
      { rate: 16000, width: 2, channels: 1e6 },
    ]
  ) {
    const r = parseAudioFormat(bad);
    assert.equal(r.ok, false, JSON.stringify(bad));
    assert.match(!r.ok ? r.message : "", /^Unsupported /);
  }
});

Deno.test("audio format: a value nested thousands deep is refused, not a stack overflow", () => {
  // 24 KB of data (the cap is 64 KiB): JSON.stringify recursed through it and threw RangeError,
  // so the client got no unsupported_audio and the connection just dropped.
  const deep = "[".repeat(12_000) + "]".repeat(12_000);
  for (const field of ["rate", "width", "channels"]) {
    const data = JSON.parse(
      `{"rate":16000,"width":2,"channels":1,"${field}":{"0":0,"nest":${deep}}}`,
    );
    const r = parseAudioFormat(data);
    assert.equal(r.ok, false, field);
    assert.equal(!r.ok && r.message.startsWith(`Unsupported ${field} {…}: expected `), true, field);
  }
  // Values that are not objects are still quoted as sent.
  const r = parseAudioFormat({ rate: "16000", width: 2, channels: 1 });
  assert.equal(!r.ok && r.message.startsWith('Unsupported rate "16000": '), true);
});

Deno.test("pcm converter: 16 kHz 16-bit mono passes through byte for byte", () => {
  const c = new PcmConverter({ rate: 16000, width: 2, channels: 1 }, 16000);
  const bytes = new Uint8Array([1, 2, 3, 4, 5]);
  assert.equal(c.push(bytes), bytes);
  assert.equal(c.end().length, 0);
});

/** `samples` (16 kHz floats) encoded as `width`-byte frames of `channels` equal channels. */
function encode(samples: Float32Array, width: number, channels: number): Uint8Array {
  const out = new Uint8Array(samples.length * width * channels);
  const view = new DataView(out.buffer);
  let at = 0;
  for (const s of samples) {
    for (let c = 0; c < channels; c++, at += width) {
      if (width === 1) view.setUint8(at, Math.round(s * 127) + 128);
      else if (width === 2) view.setInt16(at, Math.round(s * 32767), true);
      else view.setInt32(at, Math.round(s * 2147483647), true);
    }
  }
  return out;
}

Deno.test("pcm converter: widths 1, 2, 4 and 1–3 channels, cut mid-frame, give the same PCM16", () => {
  const samples = signal(1600, 16000);
  const expected = pcm16ToFloat32(encode(samples, 2, 1));
  for (const width of [1, 2, 4]) {
    for (const channels of [1, 2, 3]) {
      const c = new PcmConverter({ rate: 16000, width, channels }, 16000);
      const bytes = encode(samples, width, channels);
      const parts: Uint8Array[] = [];
      // 333 bytes: frames are cut across chunks for every width and channel count here.
      for (let at = 0; at < bytes.length; at += 333) {
        parts.push(c.push(bytes.subarray(at, at + 333)));
      }
      parts.push(c.end());
      const pcm = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        pcm.set(p, at);
        at += p.length;
      }
      const got = pcm16ToFloat32(pcm);
      assert.equal(got.length, samples.length, `width ${width}, ${channels} ch`);
      // 8-bit keeps 1/128 of full scale; the others, one 16-bit step.
      const tolerance = width === 1 ? 1 / 100 : 2 / 32768;
      for (let i = 0; i < got.length; i++) {
        assert.ok(
          Math.abs(got[i] - expected[i]) <= tolerance,
          `width ${width}, ${channels} ch, sample ${i}: ${got[i]} vs ${expected[i]}`,
        );
      }
    }
  }
});

Deno.test("pcm converter: stereo channels are averaged", () => {
  const c = new PcmConverter({ rate: 16000, width: 2, channels: 2 }, 16000);
  const view = new DataView(new ArrayBuffer(8));
  view.setInt16(0, 1000, true);
  view.setInt16(2, 3000, true);
  view.setInt16(4, -32768, true);
  view.setInt16(6, 0, true);
  const out = new DataView(c.push(new Uint8Array(view.buffer)).buffer);
  assert.equal(out.getInt16(0, true), 2000);
  assert.equal(out.getInt16(2, true), -16384);
});

Deno.test("pcm converter: 48 kHz becomes 16 kHz of the same length", () => {
  const c = new PcmConverter({ rate: 48000, width: 2, channels: 1 }, 16000);
  const bytes = encode(signal(48000, 48000), 2, 1);
  let n = 0;
  for (let at = 0; at < bytes.length; at += 2048) n += c.push(bytes.subarray(at, at + 2048)).length;
  n += c.end().length;
  assert.equal(n, 2 * 16000);
});
