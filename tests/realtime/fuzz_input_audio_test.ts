/**
 * Fuzzing the input audio buffer with appended bytes of every length, in each format. The
 * module promises that a PCM16 sample split across appends is joined and that the resampler's
 * output, concatenated, is the whole input's: so appends cut anywhere give the samples of one
 * append, and those are the whole input decoded and resampled at once, as many as its samples
 * resample to. A reset drops a dangling byte with the buffer.
 */
import assert from "node:assert/strict";
import { pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { Resampler } from "../../src/audio/resample.ts";
import { decodeAlaw, decodeMulaw } from "../../src/realtime/g711.ts";
import { formatRate, InputAudio, MODEL_RATE } from "../../src/realtime/input_audio.ts";
import type { AudioFormat } from "../../src/realtime/realtime_events.ts";
import { fuzz, randomBytes, type Rng, seededRng } from "../fuzz/mutator.ts";
import { concatFloats } from "../typed_concat.ts";

const FORMATS: AudioFormat[] = [
  { type: "audio/pcm", rate: 24000 },
  { type: "audio/pcmu" },
  { type: "audio/pcma" },
];

/** A tone as PCM16 LE at 24 kHz, and as bytes a G.711 decoder reads (any byte is a code). */
function corpus(): Uint8Array[] {
  const tone = new Uint8Array(4800);
  const view = new DataView(tone.buffer);
  for (let i = 0; i < 2400; i++) {
    view.setInt16(2 * i, Math.round(12000 * Math.sin((2 * Math.PI * 440 * i) / 24000)), true);
  }
  const rng = seededRng(5);
  return [
    tone,
    tone.subarray(0, 481),
    randomBytes(rng, 1600),
    new Uint8Array(0),
    new Uint8Array(7),
  ];
}

function decodeWhole(format: AudioFormat, bytes: Uint8Array): Float32Array {
  if (format.type === "audio/pcm") return pcm16ToFloat32(bytes);
  return format.type === "audio/pcmu" ? decodeMulaw(bytes) : decodeAlaw(bytes);
}

/** Appends `bytes` cut at up to 6 random points (empty appends too); then the commit's flush. */
function appendCut(audio: InputAudio, bytes: Uint8Array, rng: Rng): Float32Array[] {
  const cuts = Array.from({ length: rng.int(7) }, () => rng.int(bytes.length + 1))
    .sort((a, b) => a - b);
  const out: Float32Array[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    out.push(audio.push(bytes.subarray(from, cut)));
    from = cut;
  }
  out.push(audio.flush());
  return out;
}

for (const format of FORMATS) {
  Deno.test(`fuzz input audio ${format.type}: appends cut anywhere give the whole input's samples`, async () => {
    const rate = formatRate(format);
    const resampler = new Resampler(rate, MODEL_RATE);
    const bytesPerSample = format.type === "audio/pcm" ? 2 : 1;
    await fuzz(
      { seed: 0x1a0d, corpus: corpus(), cases: 700, randomCases: 100, maxRandomLength: 3000 },
      (input, rng) => {
        const decoded = decodeWhole(format, input);
        assert.equal(decoded.length, Math.floor(input.length / bytesPerSample));
        const expected = resampler.process(decoded);
        assert.equal(expected.length, resampler.outputLength(decoded.length));
        for (const v of expected) assert.ok(Number.isFinite(v));

        const audio = new InputAudio(format);
        const first = audio.push(input);
        assert.ok(first.length <= expected.length);
        assert.equal(audio.bufferedMs, (input.length / bytesPerSample / rate) * 1000);
        const whole = concatFloats([first, audio.flush()]);
        assert.equal(audio.bufferedMs, 0, "a flush starts a new buffer");
        assert.deepEqual(whole, expected, "one append, then the commit");

        const cut = concatFloats(appendCut(new InputAudio(format), input, rng));
        assert.deepEqual(cut, expected, "appends cut at random points");

        // A dropped buffer's dangling byte (and everything else of it) is forgotten.
        const reset = new InputAudio(format);
        reset.push(randomBytes(rng, 1 + 2 * rng.int(50)));
        reset.reset();
        assert.deepEqual(
          concatFloats([reset.push(input), reset.flush()]),
          expected,
          "after a reset",
        );
      },
    );
  });
}
