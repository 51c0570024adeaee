/**
 * Fuzzing what an `audio-start` or `audio-chunk` announces (its data, any JSON a client sends)
 * and the payload bytes converted as it says. A format is accepted within AUDIO_FORMAT_BOUNDS or
 * refused with an "Unsupported …" message, never a throw; the converter's output is whole
 * PCM16 samples, as many as resampling the input's whole frames gives, the same however the
 * payload was cut into chunks (the module promises both).
 */
import assert from "node:assert/strict";
import { Resampler } from "../../src/audio/resample.ts";
import {
  AUDIO_FORMAT_BOUNDS,
  type AudioFormat,
  parseAudioFormat,
  PcmConverter,
} from "../../src/wyoming/audio_format.ts";
import { concat, fuzz, randomBytes, type Rng } from "../fuzz/mutator.ts";
import { fuzzStructured, mutateJson, toJsonText } from "../fuzz/json_mutator.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const MODEL_RATE = 16000;

const FORMATS = [
  { rate: 16000, width: 2, channels: 1 },
  { rate: 22050, width: 2, channels: 2 },
  { rate: 44100, width: 4, channels: 1 },
  { rate: 8000, width: 1, channels: 1 },
  { rate: 48000, width: 2, channels: 8, timestamp: 12 },
  { rate: 4000, width: 4, channels: 2 },
  { rate: 192000, width: 1, channels: 3 },
];

function checkParsed(data: Record<string, unknown>, text: string): AudioFormat | null {
  const r = parseAudioFormat(data);
  if (!r.ok) {
    assert.match(r.message, /^Unsupported (rate|width|channels) /);
    // The message quotes what was sent, no more.
    assert.ok(r.message.length <= text.length + 120, `${r.message.length} chars`);
    return null;
  }
  const { rate, width, channels } = r.format;
  const b = AUDIO_FORMAT_BOUNDS;
  assert.ok(Number.isInteger(rate) && rate >= b.minRate && rate <= b.maxRate, `rate ${rate}`);
  assert.ok(b.widths.includes(width), `width ${width}`);
  assert.ok(Number.isInteger(channels) && channels >= 1 && channels <= b.maxChannels);
  assert.deepEqual(r.format, { rate: data.rate, width: data.width, channels: data.channels });
  return r.format;
}

/** What an event's data reads as, or null when the bytes are not a JSON object. */
function asData(text: string): Record<string, unknown> | null {
  try {
    const v = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

Deno.test("fuzz audio format: byte mutations of audio-start data", async () => {
  const corpus = FORMATS.map((f) => enc.encode(JSON.stringify(f)));
  let parsed = 0;
  await fuzz({ seed: 0xa0d10, corpus, cases: 20_000 }, (input) => {
    const text = dec.decode(input);
    const data = asData(text);
    if (data === null) return;
    parsed++;
    checkParsed(data, text);
  });
  assert.ok(parsed > 1000, `only ${parsed} mutations were JSON objects`);
});

Deno.test("fuzz audio format: JSON-structure mutations of audio-start data", async () => {
  await fuzzStructured({
    seed: 0xa0d11,
    cases: 20_000,
    make: (rng) => mutateJson(rng, toJsonText(rng.pick(FORMATS))),
  }, (text) => {
    const data = asData(text);
    if (data !== null) checkParsed(data, text);
  });
});

/** Bytes cut into 1 to 8 chunks at random points, empty chunks included. */
function chunks(rng: Rng, bytes: Uint8Array): Uint8Array[] {
  const cuts = Array.from({ length: rng.int(8) }, () => rng.int(bytes.length + 1))
    .sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(bytes.subarray(from, cut));
    from = cut;
  }
  return out;
}

/** Rates the converter is fed at: each designs a filter, so a few, common and odd. */
const RATES = [4000, 8000, 11025, 16000, 22050, 44100, 48000, 192000, 19_997];

Deno.test("fuzz audio format: payloads converted whole and in chunks agree, and are bounded", async () => {
  await fuzzStructured({
    seed: 0xa0d12,
    cases: 160,
    make: (rng): [AudioFormat, Uint8Array] => [
      {
        rate: rng.pick(RATES),
        width: rng.pick(AUDIO_FORMAT_BOUNDS.widths),
        channels: 1 + rng.int(AUDIO_FORMAT_BOUNDS.maxChannels),
      },
      randomBytes(rng, rng.int(6000)),
    ],
    show: ([f, bytes]) => `${JSON.stringify(f)} ${bytes.length} bytes`,
  }, ([format, payload], rng) => {
    const whole = new PcmConverter(format, MODEL_RATE);
    const a = concat(whole.push(payload), whole.end());
    const split = new PcmConverter(format, MODEL_RATE);
    const b = concat(...chunks(rng, payload).map((c) => split.push(c)), split.end());
    assert.deepEqual(b, a, "the same output whatever the chunking");
    const passthrough = format.rate === MODEL_RATE && format.width === 2 && format.channels === 1;
    if (passthrough) {
      assert.deepEqual(a, payload);
      return;
    }
    const frames = Math.floor(payload.length / (format.width * format.channels));
    const samples = format.rate === MODEL_RATE
      ? frames
      : new Resampler(format.rate, MODEL_RATE).outputLength(frames);
    assert.equal(a.length, 2 * samples, "whole PCM16 samples, as many as the frames resample to");
  });
});
