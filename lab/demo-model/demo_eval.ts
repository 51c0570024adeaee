/**
 * What streaming costs in accuracy: the demo model's WER on held-out voices, offline and
 * streamed through a real server process at a grid of LEFT_CONTEXT_MS × STEP_MS ×
 * RIGHT_CONTEXT_MS, with the compute each setting costs.
 *
 *   deno run -A lab/demo-model/demo_eval.ts [--model models/demo]
 *     [--manifest .tools/demo-stage1/eval/manifest.jsonl] [--grid default|full|none|L/C/R,…]
 *     [--join 4] [--precision fp32|int8]
 *     [--out lab/demo-model/demo-eval-<date>.json]
 *
 * The manifest (made by lab/training/train_demo.py: held-out voices, augmented as in training) lists
 * short clips; every `--join` consecutive clips are concatenated into one utterance of 15–25 s,
 * so the left context has something to remember. Offline WER is reported per clip and per
 * joined utterance, and per synthesiser family; streaming WER on the joined utterances.
 * Utterances are streamed as fast as the server takes them: a stream's windows depend only on
 * its audio, not on when it arrived (tests/reference checks identical finals across pacing), so
 * the WER equals real-time streaming's. Cost is the server process's CPU seconds per second of
 * audio, next to the recompute factor (L + C + R) / C. Noise and hum without speech
 * (bench/non_speech.ts) are transcribed too: every word heard there is made up.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { readWav } from "../../src/audio/wav.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { floatToPcm16 } from "../../src/client/pcm.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { barChartSvg } from "../../bench/chart.ts";
import { nonSpeechSet } from "../../bench/non_speech.ts";
import { describeMachine, loadAverage } from "../../src/bench/machine.ts";
import { startServerProcess } from "../../bench/server_process.ts";
import { WerTally } from "../../bench/wer.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

interface Row {
  audio_filepath: string;
  text: string;
  family: string;
  voice: string;
  duration: number;
}

interface Utterance {
  text: string;
  samples: Float32Array;
  families: string[];
}

export interface Knobs {
  left: number;
  step: number;
  right: number;
}

/** Right context at the seed's step and left context, then left context and step at R = 480. */
const DEFAULT_GRID: Knobs[] = [
  { left: 2000, step: 240, right: 160 },
  { left: 2000, step: 240, right: 0 },
  { left: 2000, step: 240, right: 480 },
  { left: 2000, step: 240, right: 960 },
  { left: 0, step: 240, right: 480 },
  { left: 480, step: 240, right: 480 },
  { left: 960, step: 240, right: 480 },
  { left: 4000, step: 240, right: 480 },
  { left: 2000, step: 480, right: 480 },
  { left: 2000, step: 960, right: 480 },
];

function fullGrid(): Knobs[] {
  const out: Knobs[] = [];
  for (const left of [0, 480, 960, 2000, 4000]) {
    for (const step of [160, 240, 480, 960]) {
      for (const right of [0, 160, 480, 960]) out.push({ left, step, right });
    }
  }
  return out;
}

function cpuSeconds(pid: number): number {
  const fields = Deno.readTextFileSync(`/proc/${pid}/stat`).split(") ")[1].split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks
}

async function streamOne(url: string, pcm: Uint8Array): Promise<string> {
  const socket = await StreamSocket.open(url);
  try {
    await socket.sendPcm(pcm, { frameBytes: 3200 });
    socket.sendEos("text");
    const ends = () => socket.received.filter((r) => /^(final|error)$/.test(`${r.message?.type}`));
    await socket.waitFor(() => ends().length > 0, Infinity);
    const end = ends()[0]?.message;
    if (!end) throw new Error("closed before the final");
    if (end.type === "error") throw new Error(`${end.code}: ${end.message}`);
    return String(end.text);
  } finally {
    await socket.close();
  }
}

async function streamSetting(
  model: string,
  knobs: Knobs,
  utterances: Utterance[],
  concurrency: number,
  precision: "fp32" | "int8",
): Promise<{ wer: WerTally; cpuPerAudioS: number; wallS: number }> {
  const { child, port } = await startServerProcess({
    MODEL: model,
    STEP_MS: String(knobs.step),
    LEFT_CONTEXT_MS: String(knobs.left),
    RIGHT_CONTEXT_MS: String(knobs.right),
    MAX_MESSAGES_PER_S: "100000",
    PRECISION: precision,
    ORT_THREADS: "2",
  });
  try {
    const url = `ws://127.0.0.1:${port}/ws`;
    const hyps: string[] = new Array(utterances.length);
    const cpu0 = cpuSeconds(child.pid);
    const t0 = performance.now();
    let next = 0;
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (next < utterances.length) {
          const i = next++;
          hyps[i] = await streamOne(url, floatToPcm16(utterances[i].samples));
        }
      }),
    );
    const wallS = (performance.now() - t0) / 1000;
    const cpu = cpuSeconds(child.pid) - cpu0;
    const wer = new WerTally();
    utterances.forEach((u, i) => wer.add(u.text, hyps[i]));
    const audioS = utterances.reduce((n, u) => n + u.samples.length / 16000, 0);
    return { wer, cpuPerAudioS: cpu / audioS, wallS };
  } finally {
    child.kill("SIGTERM");
    await child.status;
  }
}

const label = (k: Knobs) => `L${k.left} C${k.step} R${k.right}`;

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string", default: `${ROOT}models/demo` },
      manifest: { type: "string", default: `${ROOT}.tools/demo-stage1/eval/manifest.jsonl` },
      grid: { type: "string", default: "default" },
      join: { type: "string", default: "4" },
      concurrency: { type: "string", default: "8" },
      precision: { type: "string", default: "fp32" },
      out: { type: "string" },
    },
  });
  const precision = values.precision === "int8" ? "int8" : "fp32";
  const rows: Row[] = Deno.readTextFileSync(values.manifest).trim().split("\n").map((l) =>
    JSON.parse(l)
  );
  const clips = rows.map((r) => readWav(Deno.readFileSync(r.audio_filepath), r.audio_filepath));
  const join = Number(values.join);
  const utterances: Utterance[] = [];
  for (let s = 0; s < rows.length; s += join) {
    const group = clips.slice(s, s + join);
    const samples = new Float32Array(group.reduce((n, c) => n + c.samples.length, 0));
    let at = 0;
    for (const c of group) {
      samples.set(c.samples, at);
      at += c.samples.length;
    }
    const texts = rows.slice(s, s + join);
    utterances.push({
      text: texts.map((r) => r.text).join(" "),
      samples,
      families: texts.map((r) => r.family),
    });
  }

  using runtime = OrtRuntime.load();
  const machine = describeMachine(runtime.version);
  const t0 = performance.now();
  const offline = { clips: new WerTally(), joined: new WerTally() };
  const byFamily: Record<string, WerTally> = {};
  // Per voice (synthesiser and voice name, whatever its rate and pitch): a family's WER can be
  // one voice's.
  const byVoice: Record<string, WerTally> = {};
  const nonSpeech: Record<string, { clips: number; clips_with_words: number; words: number }> = {};
  const examples: { ref: string; hyp: string; voice: string }[] = [];
  {
    using model = ParakeetModel.load(runtime, values.model, { device: "cpu", precision });
    const extractor = new LogMelExtractor();
    const perClip = transcribeClips(model, extractor, clips.map((c) => c.samples)).transcripts;
    perClip.forEach((t, i) => {
      const e = offline.clips.add(rows[i].text, t.text);
      (byFamily[rows[i].family] ??= new WerTally()).add(rows[i].text, t.text);
      const voice = rows[i].voice.split(":").slice(0, 2).join(":");
      (byVoice[voice] ??= new WerTally()).add(rows[i].text, t.text);
      if (e.errors > 0) {
        examples.push({ ref: rows[i].text, hyp: t.text, voice: rows[i].voice });
      }
    });
    const joined = transcribeClips(model, extractor, utterances.map((u) => u.samples)).transcripts;
    joined.forEach((t, i) => offline.joined.add(utterances[i].text, t.text));
    // Noise and hum alone: every word heard there is made up.
    const quiet = nonSpeechSet();
    transcribeClips(model, extractor, quiet.map((c) => c.samples)).transcripts.forEach((t, i) => {
      const words = t.text.split(" ").filter((w) => w).length;
      const k = nonSpeech[quiet[i].kind] ??= { clips: 0, clips_with_words: 0, words: 0 };
      k.clips++;
      k.words += words;
      if (words > 0) k.clips_with_words++;
    });
  }
  console.log(
    `offline: clips ${offline.clips.toJSON().wer}, joined ${offline.joined.toJSON().wer}`,
  );
  console.log(`non-speech: ${JSON.stringify(nonSpeech)}`);

  const grid = values.grid === "full"
    ? fullGrid()
    : values.grid === "none"
    ? []
    : values.grid === "default"
    ? DEFAULT_GRID
    : values.grid.split(",").map((g) => {
      const [left, step, right] = g.split("/").map(Number); // L/C/R in ms
      return { left, step, right };
    });
  const streaming = [];
  for (const knobs of grid) {
    const r = await streamSetting(
      values.model,
      knobs,
      utterances,
      Number(values.concurrency),
      precision,
    );
    const row = {
      ...knobs,
      recompute_factor: Math.round((knobs.left + knobs.step + knobs.right) / knobs.step * 100) /
        100,
      first_partial_delay_ms: knobs.step + knobs.right,
      ...r.wer.toJSON(),
      gap_points: Math.round((r.wer.wer - offline.joined.wer) * 10000) / 100,
      server_cpu_s_per_audio_s: Math.round(r.cpuPerAudioS * 10000) / 10000,
      wall_s: Math.round(r.wallS * 10) / 10,
    };
    streaming.push(row);
    console.log(JSON.stringify(row));
  }

  const date = new Date().toISOString().slice(0, 10);
  const out = values.out ?? `${ROOT}lab/demo-model/demo-eval-${date}.json`;
  const config = JSON.parse(Deno.readTextFileSync(`${values.model}/config.json`));
  const report = {
    what: "demo model WER on held-out voices: offline and streamed through the server",
    model: { dir: values.model, parameters: config.parameters, stage: config.stage, precision },
    manifest: values.manifest,
    clips: rows.length,
    joined_utterances: utterances.length,
    audio_seconds: Math.round(clips.reduce((n, c) => n + c.samples.length, 0) / 160) / 100,
    machine: { ...machine, load_average_end: loadAverage() },
    minutes: Math.round((performance.now() - t0) / 600) / 100,
    offline: {
      clips: offline.clips.toJSON(),
      joined: offline.joined.toJSON(),
      by_family: Object.fromEntries(Object.entries(byFamily).map(([k, v]) => [k, v.toJSON()])),
      by_voice: Object.fromEntries(
        Object.entries(byVoice).sort().map(([k, v]) => [k, v.toJSON()]),
      ),
      // Every clip with an error.
      examples,
    },
    non_speech: {
      what: "white, pink, brown noise and mains hum at -40/-25/-12 dBFS, 2 s and 5 s",
      by_kind: nonSpeech,
    },
    streaming,
  };
  const tmp = `${out}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(report, null, 1) + "\n");
  Deno.renameSync(tmp, out);
  const svg = barChartSvg(
    "Demo model WER (%) on held-out voices: offline vs streamed (L/C/R in ms)",
    "%",
    [
      { label: "offline (whole utterance)", value: Math.round(offline.joined.wer * 1000) / 10 },
      ...streaming.map((s) => ({
        label: label(s),
        value: Math.round(s.wer * 1000) / 10,
        note: `(${s.recompute_factor}× compute)`,
      })),
    ],
  );
  Deno.writeTextFileSync(out.replace(/\.json$/, ".svg"), svg);
  console.log(`wrote ${out}`);
}
