/**
 * The bundled demo model (models/demo) really recognises speech: committed clips of voices it
 * never heard come out exactly, fresh clips synthesised now (never in the repository) come out
 * within a bounded WER, and its output depends on its audio.
 */
import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { readWav } from "../../src/audio/wav.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { defaultModelDir } from "../../src/cli/common_options.ts";
import { WerTally } from "../../bench/wer.ts";
import { nonSpeechClip } from "../../bench/non_speech.ts";
import { ROOT } from "../engine/fixtures.ts";
import { run, WORDS } from "../reference/synth.ts";

const DEMO = `${ROOT}models/demo`;
const SAMPLES = `${DEMO}/samples`;

interface Sample {
  file: string;
  text: string;
  voice: string;
}

function available(cmd: string): boolean {
  try {
    return new Deno.Command(cmd, { args: ["--help"], stdout: "null", stderr: "null" })
      .outputSync().code !== 127;
  } catch {
    return false;
  }
}

function transcribe(files: Float32Array[]): string[] {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, DEMO, { device: "cpu" });
  return transcribeClips(model, new LogMelExtractor(), files).transcripts.map((t) => t.text);
}

const samples: Sample[] = JSON.parse(Deno.readTextFileSync(`${SAMPLES}/samples.json`)).samples;

Deno.test("the demo model is the default model", () => {
  assert.equal(defaultModelDir(), DEMO);
  const config = JSON.parse(Deno.readTextFileSync(`${DEMO}/config.json`));
  assert.equal(config.trained, true);
  assert.equal(config.model_type, "nemo-conformer-tdt");
});

Deno.test("demo model: committed clips of held-out voices come out exactly", () => {
  assert.ok(samples.length >= 4);
  const voices = new Set(samples.map((s) => s.voice.split(":")[0]));
  assert.ok(voices.size >= 3, "clips of espeak-ng, flite and festival voices");
  const texts = transcribe(
    samples.map((s) => readWav(Deno.readFileSync(`${SAMPLES}/${s.file}`)).samples),
  );
  texts.forEach((t, i) =>
    assert.equal(t, samples[i].text, `${samples[i].file} (${samples[i].voice})`)
  );
});

Deno.test("demo model: its output depends on its audio (different clips differ, silence is empty)", () => {
  const clips = samples.slice(0, 3).map((x) =>
    readWav(Deno.readFileSync(`${SAMPLES}/${x.file}`)).samples
  );
  const texts = transcribe([...clips, new Float32Array(32_000)]);
  assert.equal(new Set(texts.slice(0, 3)).size, 3, JSON.stringify(texts));
  assert.equal(texts[3], "", "two seconds of silence");
});

Deno.test("demo model: noise and mains hum without speech come out empty", () => {
  // Seeds, levels and lengths other than lab/demo-model/demo_eval.ts's non-speech set.
  const clips = (["white", "pink", "brown", "hum"] as const).flatMap((kind, k) =>
    [-33, -18].map((level, j) => nonSpeechClip(kind, level, 3, 500 + 10 * k + j).samples)
  );
  const texts = transcribe(clips);
  assert.deepEqual(texts, clips.map(() => ""), JSON.stringify(texts));
});

// The ten digit words; "oh" is left to the committed clips.
const FRESH_WORDS = WORDS.filter((w) => w !== "oh");
// Voices outside the training set (models/synth.py HELDOUT_*, lab/training/demo_data.py).
const FRESH_VOICES: [string, string][] = [
  ["espeak-ng", "en-us+f2"],
  ["espeak-ng", "en-gb-x-gbcwmd+m3"],
  ["espeak-ng", "en+Annie"],
  ["espeak-ng", "en-us+klatt3"],
  ["flite", "slt"],
];

Deno.test({
  name: "demo model: fresh clips of unseen voices, made now, via `transcribe` at ≤ 10% WER",
  ignore: !available("espeak-ng") || !available("flite") || !available("sox"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      let seed = 20261125;
      const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
      const refs: string[] = [];
      const files: string[] = [];
      for (let i = 0; i < 10; i++) {
        const words = Array.from(
          { length: 3 + Math.floor(next() * 5) },
          () => FRESH_WORDS[Math.floor(next() * FRESH_WORDS.length)],
        );
        const [engine, voice] = FRESH_VOICES[i % FRESH_VOICES.length];
        const raw = `${dir}/raw${i}.wav`;
        const wav = `${dir}/clip${i}.wav`;
        if (engine === "flite") {
          await run("flite", ["-voice", voice, "-t", words.join(" "), "-o", raw]);
        } else {
          const speed = String(140 + Math.floor(next() * 60));
          await run("espeak-ng", ["-v", voice, "-s", speed, "-w", raw, words.join(" ")]);
        }
        await run("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", wav, "pad", "0.2", "0.3"]);
        refs.push(words.join(" "));
        files.push(wav);
      }
      const out = await run(Deno.execPath(), [
        "run",
        "-A",
        `${ROOT}main.ts`,
        "transcribe",
        "--model",
        DEMO,
        "--json",
        "--device",
        "cpu",
        ...files,
      ]);
      const hyps = out.trim().split("\n").map((l) => JSON.parse(l));
      assert.equal(hyps.length, files.length);
      const tally = new WerTally();
      hyps.forEach((h, i) => tally.add(refs[i], h.text));
      console.log(JSON.stringify({ wer: tally.toJSON(), refs, hyps: hyps.map((h) => h.text) }));
      assert.ok(tally.wer <= 0.1, `WER ${tally.wer} over ${tally.words} words`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
