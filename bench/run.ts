/**
 * The benchmark harness, run by hand (not by the tests):
 *   deno run -A --no-lock bench/run.ts [--quick] [--phase-s 6] [--max-streams 64]
 * Measures, on this machine, side by side: start-up time to /status ok; memory per open
 * stream; streams held at p95 partial latency ≤ STEP_MS + 100 with the batched scheduler and
 * with MAX_BATCH=1; the encoder-only stream limit for the same window; µs per decoder_joint call
 * through our FFI and through onnxruntime-node. Writes bench/results/<date>-<host>.json and
 * bench/results/capacity.svg. Models: models/test/tiny-tdt (overhead) and
 * .tools/models/mid-random (compute; build it first:
 *   .tools/venv-nemo/bin/python models/build_model.py --size mid --out .tools/models/mid-random;
 * --mid-model DIR takes it from elsewhere).
 * `limit_share` measures the share of the encoder-only limit that is held, interleaved: short
 * rounds alternate the encoder-only limit and a ramp, and the median of the rounds' shares is
 * reported with their spread.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { OrtRuntime } from "../ffi/mod.ts";
import { runPhase } from "../src/bench/phase.ts";
import { loadClipPcm16 } from "../src/client/load_clip.ts";
import { frameBytesFor } from "../src/client/pcm.ts";
import { spawnServer, stopServer } from "../src/bench/server_process.ts";
import { barChartSvg } from "./chart.ts";
import { describeMachine, loadAverage, resultsFileName, rssMb } from "../src/bench/machine.ts";
import { bracketedLimit, shareOfLimit } from "../src/bench/limit_share.ts";
import { FIXTURE_CLIPS_DIR, writeJoinedClipsWav } from "../src/bench/long_utterance.ts";
import { readCounters, servedCost, shareParts } from "../src/bench/served_cost.ts";
import { inferenceLanes } from "../src/engine/inference_pool.ts";

const ROOT = fileURLToPath(new URL("..", import.meta.url));
const MAIN = `${ROOT}main.ts`;
const TINY = `${ROOT}models/test/tiny-tdt`;
const DEFAULT_MID = `${ROOT}.tools/models/mid-random`;
const DEFAULT_CLIP = `${ROOT}tests/fixtures/clips/digits_pi.wav`;
const STARTUP_TIMEOUT_MS = 120_000;

const { values } = parseArgs({
  args: Deno.args,
  options: {
    "phase-s": { type: "string", default: "6" },
    "max-streams": { type: "string", default: "64" },
    quick: { type: "boolean", default: false },
    "mid-model": { type: "string" },
    /**
     * The clip the streams send (default: a 2.9 s fixture, looped with an EOS per pass; for
     * limit_share, the fixture clips joined into one 18.3 s utterance).
     */
    clip: { type: "string" },
    /** Rounds of the interleaved limit_share section (each: encoder-only limit, then a ramp). */
    rounds: { type: "string", default: "3" },
    /** Run only these sections (comma-separated), merged into today's results file or starting it. */
    only: { type: "string" },
  },
});
const MID = values["mid-model"] ?? DEFAULT_MID;
const CLIP = values.clip ?? DEFAULT_CLIP;
const phaseS = Number(values["phase-s"]);
const rounds = Number(values.rounds);
if (!(Number.isInteger(rounds) && rounds >= 1)) {
  throw new Error(`--rounds must be ≥ 1, got ${rounds}`);
}
const maxStreams = Number(values["max-streams"]);
const log = (s: string) => console.error(`[bench] ${s}`);
/** The inference lanes a server here runs by default (INFERENCE_LANES=0 on the CPU). */
const LANES = inferenceLanes(0, "cpu", navigator.hardwareConcurrency);

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

interface Server extends AsyncDisposable {
  url: string;
  pid: number;
  startupMs: number;
}

/** `main.ts serve` as its own process; resolves once /status answers ok. */
async function startServer(env: Record<string, string>): Promise<Server> {
  const port = freePort();
  const t0 = performance.now();
  const server = await spawnServer({
    HOST: "127.0.0.1",
    PORT: String(port),
    DEVICE: "cpu",
    // Every bench stream comes from this one address: the per-client cap must not bind; the
    // ramp measures what the server holds, so the self-sized capacity must not bind either.
    MAX_STREAMS: "128",
    MAX_STREAMS_PER_CLIENT: "100000",
    ...env,
  }, { args: [], startTimeoutMs: STARTUP_TIMEOUT_MS });
  const status = `http://127.0.0.1:${port}/status`;
  for (;;) {
    if (performance.now() - t0 > STARTUP_TIMEOUT_MS) {
      await server[Symbol.asyncDispose]();
      throw new Error(`server did not answer ${status} within ${STARTUP_TIMEOUT_MS} ms`);
    }
    try {
      const res = await fetch(status);
      const body = await res.text();
      if (res.ok && body === "ok") break;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 20));
  }
  const startupMs = performance.now() - t0;
  return {
    url: `ws://127.0.0.1:${port}/ws`,
    pid: server.child.pid,
    startupMs,
    async [Symbol.asyncDispose]() {
      await stopServer(server);
    },
  };
}

async function runJson(args: string[], external = false): Promise<Record<string, unknown>> {
  const out = await new Deno.Command(external ? args[0] : Deno.execPath(), {
    args: external ? args.slice(1) : args,
    stdout: "piped",
    stderr: "inherit",
  }).output();
  const text = new TextDecoder().decode(out.stdout).trim();
  if (!out.success) throw new Error(`${args.join(" ")} exited ${out.code}: ${text}`);
  return JSON.parse(text.split("\n").at(-1)!);
}

const results: Record<string, unknown> = {};
const errors: Record<string, string> = {};
const only = values.only?.split(",");
async function section(name: string, fn: () => Promise<unknown>) {
  if (only && !only.includes(name)) return;
  log(`${name}…`);
  const t0 = performance.now();
  try {
    results[name] = await fn();
  } catch (err) {
    errors[name] = (err as Error).message;
    log(`${name} failed: ${(err as Error).message}`);
  }
  log(`${name} done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

const ortVersion = (() => {
  using rt = OrtRuntime.load();
  return rt.version;
})();
const machine = describeMachine(ortVersion);
const haveMid = (() => {
  try {
    return Deno.statSync(`${MID}/encoder-model.onnx`).isFile;
  } catch {
    return false;
  }
})();
const computeModel = haveMid ? MID : TINY;

await section("startup_to_status_ok", async () => {
  const rows = [];
  for (const [name, dir] of [["tiny", TINY], ...(haveMid ? [["mid", MID]] : [])]) {
    await using s = await startServer({ MODEL: dir });
    rows.push({ model: name, startup_ms: Math.round(s.startupMs), idle_rss_mb: rssMb(s.pid) });
  }
  return rows;
});

await section("memory_per_stream", async () => {
  const streams = 16;
  await using s = await startServer({ MODEL: computeModel });
  const idle = rssMb(s.pid);
  const { pcm } = await loadClipPcm16(CLIP);
  let peak = idle;
  const timer = setInterval(() => (peak = Math.max(peak, rssMb(s.pid))), 250);
  try {
    await runPhase({
      url: s.url,
      streams,
      durationS: 6,
      clip: pcm,
      frameBytes: frameBytesFor(20),
      knobs: { stepMs: 240, rightContextMs: 160 },
      staggerMs: 500,
      finalTimeoutMs: 15_000,
    });
  } finally {
    clearInterval(timer);
  }
  return {
    model: computeModel === TINY ? "tiny" : "mid",
    streams,
    idle_rss_mb: Math.round(idle),
    peak_rss_mb: Math.round(peak),
    mb_per_stream: Math.round((peak - idle) / streams * 100) / 100,
    note: "peak RSS while the streams send real-time audio, minus idle RSS, ÷ streams",
  };
});

await section("capacity", async () => {
  const rows = [];
  for (const maxBatch of ["32", "1"]) {
    await using s = await startServer({ MODEL: computeModel, MAX_BATCH: maxBatch });
    const rep = await runJson([
      "run",
      "-A",
      MAIN,
      "bench",
      "--url",
      s.url,
      "--file",
      CLIP,
      "--ramp",
      "--duration",
      String(phaseS),
      "--max-streams",
      String(maxStreams),
      "--max-phases",
      values.quick ? "4" : "9",
      "--json",
    ]);
    const ramp = rep.ramp as Record<string, unknown>;
    rows.push({
      MAX_BATCH: Number(maxBatch),
      streams_held: ramp.best_streams,
      first_failure: ramp.first_failure,
      target_ms: ramp.target_ms,
      capped: ramp.capped,
      verdicts: ramp.verdicts,
      phases: rep.phases,
    });
  }
  return { model: computeModel === TINY ? "tiny" : "mid", phase_s: phaseS, rows };
});

/** bench/encoder_limit.ts on the compute model, 2400 ms windows at 240 ms steps. */
const encoderLimit = (batches: string, reps: number, lanes: number) =>
  runJson([
    "run",
    "-A",
    `${ROOT}bench/encoder_limit.ts`,
    computeModel,
    "2400",
    "240",
    batches,
    String(reps),
    String(lanes),
  ]);

await section("encoder_limit", async () => ({
  one_lane: await encoderLimit("1,8,32", 3, 1),
  // As the server runs by default here (INFERENCE_LANES=0).
  lanes: LANES === 1 ? null : await encoderLimit(`${LANES},${8 * LANES},32`, 3, LANES),
}));

/**
 * The share of the encoder-only limit held, in `rounds` rounds: each a ramp of the batched
 * server bisected to one stream between two measurements of the encoder-only limit (batch 32,
 * twelve calls each; the round's limit is their mean), so both halves of a round's ratio see
 * the same load on the machine. The first round's ramp starts at half the encoder-only limit,
 * each later one at the previous round's answer. The median share and the spread over the
 * rounds are reported.
 */
function medianParts(parts: ReturnType<typeof shareParts>[]) {
  if (parts.length === 0) return null;
  const mid = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];
  return {
    busy_pct: mid(parts.map((p) => p.busy_pct)),
    encoder_speed_pct: mid(parts.map((p) => p.encoder_speed_pct)),
    predicted_share_pct: mid(parts.map((p) => p.predicted_share_pct)),
  };
}

/**
 * `streams` streams for `seconds` against the server at `url`, with its counters read between
 * the staggered starts (the first two seconds) and the EOS finals (the last second).
 */
async function servedPhase(
  url: string,
  clip: string,
  streams: number,
  seconds: number,
  lanes: number,
) {
  if (!(seconds >= 5)) throw new Error(`the served-cost phase needs --phase-s ≥ 5, got ${seconds}`);
  const metrics = url.replace(/^ws/, "http").replace(/\/ws$/, "/metrics");
  const read = async () => readCounters(await (await fetch(metrics)).text());
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", MAIN, "bench", "--url", url, "--file", clip, "--streams", String(streams)]
      .concat(["--duration", String(seconds), "--json"]),
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await new Promise((r) => setTimeout(r, 2000));
    const t0 = performance.now();
    const before = await read();
    await new Promise((r) => setTimeout(r, (seconds - 3) * 1000));
    const after = await read();
    return servedCost(before, after, performance.now() - t0, lanes);
  } finally {
    await child.status;
  }
}

/**
 * The encoder-only limit as the share takes it: 32 windows at once, shared among the lanes the
 * server runs, a dozen calls (about 3 s on the mid model: five let one slow second move the
 * limit 10%). The streams it could hold, and one lane's milliseconds a window.
 */
async function limitAt32(): Promise<{ streams: number; msPerWindow: number }> {
  const enc = await encoderLimit("32", 12, LANES);
  const row = (enc.rows as { stream_limit: number; ms_per_call: number; batch: number }[])[0];
  return { streams: row.stream_limit, msPerWindow: row.ms_per_call / (row.batch / LANES) };
}

await section("limit_share", async () => {
  await using s = await startServer({ MODEL: computeModel, MAX_BATCH: "32" });
  // Full windows, as the encoder-only limit prices them: one long utterance unless --clip says.
  const clip = values.clip ?? await writeJoinedClipsWav(`${ROOT}${FIXTURE_CLIPS_DIR}`);
  await using _clipFile = {
    [Symbol.asyncDispose]: async () => {
      if (values.clip === undefined) {
        await Deno.remove(clip.slice(0, clip.lastIndexOf("/")), { recursive: true });
      }
    },
  };
  const perRound = [];
  // The first ramp starts at half the encoder-only limit: what a server holds lies below the
  // limit, so doubling from there reaches a miss in one step and the phases go to bisecting.
  let start = 0;
  for (let r = 0; r < rounds; r++) {
    const before = await limitAt32();
    if (start === 0) start = Math.max(1, Math.floor(before.streams / 2));
    const rep = await runJson([
      "run",
      "-A",
      MAIN,
      "bench",
      "--url",
      s.url,
      "--file",
      clip,
      "--ramp",
      "--ramp-start",
      String(start),
      "--duration",
      String(phaseS),
      "--max-streams",
      String(maxStreams),
      "--max-phases",
      "8",
      // To the stream: at 20-odd streams the default 10% leaves two streams (7 points) open.
      "--ramp-precision",
      "1",
      "--json",
    ]);
    const ramp = rep.ramp as { best_streams: number; first_failure: number | null };
    // Where the rest of the limit went: one more phase at the load held, read from the server's
    // own counters (src/bench/served_cost.ts).
    const served = ramp.best_streams > 0
      ? await servedPhase(s.url, clip, ramp.best_streams, phaseS, LANES)
      : null;
    // The limit again, so the round's share is taken against what the machine did while the
    // ramp ran, not only right before it.
    const after = await limitAt32();
    const limit = bracketedLimit(before.streams, after.streams);
    const aloneMsPerWindow = (before.msPerWindow + after.msPerWindow) / 2;
    perRound.push({
      ...limit,
      streams_held: ramp.best_streams,
      first_failure: ramp.first_failure,
      encoder_ms_per_window_alone: Math.round(aloneMsPerWindow * 100) / 100,
      served,
      parts: served && shareParts(aloneMsPerWindow, served),
      load_average: loadAverage(),
    });
    log(
      `round ${
        r + 1
      }: held ${ramp.best_streams} of the encoder-only ${limit.encoder_limit} (${limit.encoder_limit_before} before, ${limit.encoder_limit_after} after)${
        served
          ? `; device busy ${served.inference_busy_pct}%, encoder ${served.encoder_ms_per_window} ms a window served against ${
            aloneMsPerWindow.toFixed(2)
          } alone`
          : ""
      }`,
    );
    start = Math.max(1, ramp.best_streams);
  }
  return {
    model: computeModel === TINY ? "tiny" : "mid",
    phase_s: phaseS,
    ...shareOfLimit(perRound),
    // The median round's two parts: the device's busy time and the encoder's speed served.
    parts_median: medianParts(perRound.flatMap((r) => r.parts ? [r.parts] : [])),
    rounds: perRound,
  };
});

await section("joint_call_us", async () => {
  const rows = [];
  for (const [name, dir] of [["tiny", TINY], ...(haveMid ? [["mid", MID]] : [])]) {
    const ours = await runJson([
      "run",
      "-A",
      `${ROOT}bench/joint_calls_ours.ts`,
      dir,
      "3000",
      "1",
    ]);
    const node = await runJson([
      "run",
      "-A",
      "--no-lock",
      `${ROOT}bench/joint_calls_ortnode.ts`,
      dir,
      String(ours.encoder_dim),
      String(ours.state_layers),
      String(ours.state_hidden),
      "3000",
      "1",
    ]);
    rows.push({ model: name, ours, onnxruntime_node: node });
  }
  return rows;
});

/** The full-size (627 M) architecture: "how many real-time streams of Parakeet on this CPU". */
const FULL = `${ROOT}.tools/models/full-random`;
await section("full_model_capacity", async () => {
  const rows = [];
  const configs: [string, Record<string, string>][] = [
    ["seed knobs, fp32", { STEP_MS: "240", RIGHT_CONTEXT_MS: "160", LEFT_CONTEXT_MS: "2000" }],
    ["seed knobs, int8", {
      STEP_MS: "240",
      RIGHT_CONTEXT_MS: "160",
      LEFT_CONTEXT_MS: "2000",
      PRECISION: "int8",
    }],
    ["CPU knobs 960, int8", {
      STEP_MS: "960",
      RIGHT_CONTEXT_MS: "160",
      LEFT_CONTEXT_MS: "960",
      PRECISION: "int8",
    }],
    ["CPU knobs 1920, int8", {
      STEP_MS: "1920",
      RIGHT_CONTEXT_MS: "160",
      LEFT_CONTEXT_MS: "640",
      PRECISION: "int8",
    }],
  ];
  for (const [label, knobs] of configs) {
    await using s = await startServer({ MODEL: FULL, ...knobs });
    const rep = await runJson([
      "run",
      "-A",
      MAIN,
      "bench",
      "--url",
      s.url,
      "--file",
      CLIP,
      "--ramp",
      "--duration",
      String(phaseS),
      "--max-streams",
      "16",
      "--max-phases",
      "5",
      "--json",
    ]);
    const ramp = rep.ramp as Record<string, unknown>;
    rows.push({
      config: label,
      knobs,
      startup_ms: Math.round(s.startupMs),
      idle_rss_mb: Math.round(rssMb(s.pid)),
      streams_held: ramp.best_streams,
      first_failure: ramp.first_failure,
      target_ms: ramp.target_ms,
      verdicts: ramp.verdicts,
    });
  }
  return rows;
});

await section("tdt_decode", async () => {
  const clips = [...Deno.readDirSync(`${ROOT}tests/fixtures/clips`)]
    .filter((e) => e.name.endsWith(".wav")).map((e) => `${ROOT}tests/fixtures/clips/${e.name}`)
    .sort();
  const rows = [];
  for (const [name, dir] of [["tiny", TINY], ...(haveMid ? [["mid", MID]] : [])]) {
    const ours = await runJson([
      "run",
      "-A",
      `${ROOT}bench/tdt_decode_ours.ts`,
      dir,
      "16",
      ...clips,
    ]);
    const onnxAsr = await runJson([
      `${ROOT}.tools/venv-check/bin/python`,
      `${ROOT}bench/tdt_decode_onnx_asr.py`,
      dir,
      "16",
      ...clips,
    ], true);
    rows.push({
      model: name,
      ours,
      onnx_asr: onnxAsr,
      speedup: Math.round(Number(ours.tokens_per_s) / Number(onnxAsr.tokens_per_s) * 10) / 10,
    });
  }
  return rows;
});

machine.load_average_end = loadAverage();
const date = new Date().toISOString().slice(0, 10);
const file = `${ROOT}bench/results/${
  resultsFileName(date, machine, (name) => {
    try {
      return JSON.parse(Deno.readTextFileSync(`${ROOT}bench/results/${name}`)).machine ?? {};
    } catch (err) {
      if (err instanceof Deno.errors.NotFound) return null;
      throw err;
    }
  })
}`;
const exists = await Deno.stat(file).then(() => true, () => false);
if (only && exists) {
  // Merge into today's run: earlier sections keep their numbers and their machine record.
  const prev = JSON.parse(await Deno.readTextFile(file));
  Object.assign(prev.results, results);
  for (const k of Object.keys(results)) delete prev.errors[k];
  Object.assign(prev.errors, errors);
  prev.partial_reruns = [...(prev.partial_reruns ?? []), {
    date: new Date().toISOString(),
    sections: only,
    load_average: machine.load_average,
    load_average_end: machine.load_average_end,
  }];
  await Deno.writeTextFile(file, JSON.stringify(prev, null, 2) + "\n");
  log(`merged ${only.join(", ")} into ${file}`);
  await writeChart(prev);
  Deno.exit(0);
}
const out = {
  date: new Date().toISOString(),
  machine,
  knobs: { STEP_MS: 240, RIGHT_CONTEXT_MS: 160, LEFT_CONTEXT_MS: 2000 },
  results,
  errors,
  ...(only ? { sections: only } : {}),
  not_measured: [
    "full-size (627 M) model capacity at the seed's and CPU-tuned knobs",
    "GPU estimate (bench gpu)",
  ],
};
await Deno.mkdir(`${ROOT}bench/results`, { recursive: true });
await Deno.writeTextFile(file, JSON.stringify(out, null, 2) + "\n");
log(`wrote ${file}`);

await writeChart(out);

/** bench/results/capacity.svg from a results file: streams held per configuration. */
async function writeChart(
  run: { results: Record<string, unknown>; machine: Record<string, unknown> },
) {
  const r = run.results;
  const cap = r.capacity as { rows: { MAX_BATCH: number; streams_held: number }[] } | undefined;
  const enc = r.encoder_limit as { rows: { batch: number; stream_limit: number }[] } | undefined;
  const full = r.full_model_capacity as { config: string; streams_held: number }[] | undefined;
  const bars = [
    ...(cap?.rows ?? []).map((row) => ({
      label: `mid 16 M: ${
        row.MAX_BATCH === 1 ? "MAX_BATCH=1 (seed)" : `batched (${row.MAX_BATCH})`
      }`,
      value: row.streams_held,
    })),
    ...(enc?.rows ?? []).filter((row) => row.batch === 32).map((row) => ({
      label: `mid 16 M: encoder-only limit`,
      value: row.stream_limit,
    })),
    ...(full ?? []).map((row) => ({ label: `full 627 M: ${row.config}`, value: row.streams_held })),
  ];
  if (bars.length === 0) return;
  await Deno.writeTextFile(
    `${ROOT}bench/results/capacity.svg`,
    barChartSvg(
      `Real-time streams held at p95 partial latency ≤ STEP_MS + 100 ms (${run.machine.cores} CPU cores)`,
      "streams",
      bars,
    ),
  );
  log("wrote bench/results/capacity.svg");
}
