// Our log-mel features against NeMo 3.0's own AudioToMelSpectrogramPreprocessor (Parakeet's
// config, dither 0) on the fixture speech clips.
//
// Why the bound on the single worst value is 2.5e-4 and not 1e-4: NeMo computes the STFT in
// float32 (torch → MKL). In the lowest mel bands of these clips (0–60 Hz, 70 dB below the
// frame's peak) that rounding noise moves NeMo's own output by up to 1.6e-4 from the exact
// (float64) value of the very same operations — measured by running NeMo's forward code in
// float64 (tests/fixtures/audio/make_f64_reference.py). MKL's float32 rounding cannot be
// replicated bit for bit (it depends on the CPU's code path), so no implementation that is
// not NeMo itself stays under 1e-4 everywhere. What we hold instead:
//   - vs NeMo: 99.9% of values within 1e-4, the worst within 2.5e-4, the mean within 2e-6;
//   - vs NeMo's formula evaluated in float64: every value within 3e-5.
import assert from "node:assert/strict";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { parseWav } from "../../src/audio/wav.ts";

const CLIPS = new URL("../fixtures/clips/", import.meta.url);
const REFS = new URL("../fixtures/reference/", import.meta.url);
const F64_REF = new URL("../fixtures/audio/no_eight.f64ref.features.f32", import.meta.url);

interface Reference {
  clip: string;
  num_samples: number;
  features: { file: string; shape: [number, number]; valid_length?: number };
}

function listReferences(): string[] {
  try {
    // Per-clip references only (summary.json describes the whole set).
    return [...Deno.readDirSync(REFS)].map((e) => e.name)
      .filter((n) => n.endsWith(".json") && n !== "summary.json").sort();
  } catch {
    return [];
  }
}

function readF32(url: URL): Float32Array {
  const b = Deno.readFileSync(url);
  return new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
}

interface DiffStats {
  max: number;
  p999: number;
  mean: number;
}

/** |ours − ref| over the first refT columns; ours is [nMels, oursT], ref [nMels, refT]. */
function diffStats(
  ours: Float32Array,
  oursT: number,
  ref: Float32Array,
  refT: number,
  nMels: number,
): DiffStats {
  const d = new Float64Array(nMels * refT);
  let sum = 0;
  for (let m = 0; m < nMels; m++) {
    for (let t = 0; t < refT; t++) {
      const v = Math.abs(ours[m * oursT + t] - ref[m * refT + t]);
      d[m * refT + t] = Number.isNaN(v) ? Infinity : v;
      sum += v;
    }
  }
  d.sort();
  return { max: d[d.length - 1], p999: d[Math.floor(d.length * 0.999)], mean: sum / d.length };
}

function clipSamples(clip: string): Float32Array {
  const wav = parseWav(Deno.readFileSync(new URL(clip, CLIPS)), clip);
  assert.equal(wav.sampleRate, 16000);
  return wav.samples;
}

const refs = listReferences();
const ignoreNote = refs.length === 0
  ? " (ignored: no NeMo references in tests/fixtures/reference/)"
  : "";

Deno.test({
  name: "LogMelExtractor matches NeMo's preprocessor on every fixture clip" + ignoreNote,
  ignore: refs.length === 0,
  fn() {
    const extractor = new LogMelExtractor();
    const report: string[] = [];
    const failures: string[] = [];
    for (const name of refs) {
      const ref: Reference = JSON.parse(Deno.readTextFileSync(new URL(name, REFS)));
      const samples = clipSamples(ref.clip);
      assert.equal(samples.length, ref.num_samples, `${ref.clip}: sample count`);
      const [nMels, refT] = ref.features.shape;
      const expected = readF32(new URL(ref.features.file, REFS));
      assert.equal(expected.length, nMels * refT);
      const ours = extractor.extract(samples);
      assert.equal(ours.nMels, nMels);
      if (ref.features.valid_length !== undefined) {
        assert.equal(ours.validFrames, ref.features.valid_length, `${ref.clip}: valid length`);
      }
      // NeMo computes validFrames + 1 columns; a reference may keep or trim the masked last one.
      assert.ok(refT === ours.frames || refT === ours.validFrames, `${ref.clip}: ${refT} frames`);
      for (let m = 0; m < nMels && ours.frames > ours.validFrames; m++) {
        assert.equal(ours.features[m * ours.frames + ours.validFrames], 0, "masked column is 0");
      }
      const s = diffStats(ours.features, ours.frames, expected, refT, nMels);
      report.push(
        `${ref.clip.padEnd(18)} ${String(refT).padStart(4)} frames  max ${s.max.toExponential(2)}` +
          `  p99.9 ${s.p999.toExponential(2)}  mean ${s.mean.toExponential(2)}`,
      );
      if (!(s.max <= 2.5e-4 && s.p999 <= 1e-4 && s.mean <= 2e-6)) {
        failures.push(`${ref.clip}: ${JSON.stringify(s)}`);
      }
    }
    console.log("|ours − NeMo| per clip:\n" + report.join("\n"));
    assert.deepEqual(failures, []);
  },
});

Deno.test({
  name: "LogMelExtractor matches NeMo's formula evaluated in float64 within 3e-5 (no_eight)" +
    ignoreNote,
  ignore: refs.length === 0,
  fn() {
    const ours = new LogMelExtractor().extract(clipSamples("no_eight.wav"));
    const ref = readF32(F64_REF);
    assert.equal(ref.length, 128 * ours.validFrames);
    const s = diffStats(ours.features, ours.frames, ref, ours.validFrames, 128);
    console.log(`|ours − NeMo-in-float64| no_eight: max ${s.max.toExponential(2)}`);
    assert.ok(s.max <= 3e-5, `max ${s.max}`);
  },
});
