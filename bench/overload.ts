/**
 * Overload: 1.5× the capacity a `MAX_STREAMS=auto` server announces, offered as real-time
 * streams to two servers side by side: one with a fixed `MAX_STREAMS=128` (it admits them all)
 * and one with `auto` (it refuses the excess with 503). Reported for each: the admitted streams'
 * p95 partial latency against STEP_MS + 100 ms, how many of their finals equal the clip's offline
 * transcript, how many streams were refused and how fast.
 *
 *   deno run -A bench/overload.ts [--model DIR] [--duration 10] [--clip FILE …]
 *     [--out bench/results/overload.json]
 *
 * Without --model the tiny test model is served. Knobs after `--` go to both servers
 * (`-- STEP_MS=960 PRECISION=int8`).
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { describeMachine, loadAverage } from "../src/bench/machine.ts";
import { type ServerProcess, stopServer } from "../src/bench/server_process.ts";
import { summarize } from "../src/client/latency_stats.ts";
import { loadClipPcm16 } from "../src/client/load_clip.ts";
import { sleep } from "../src/client/pacing.ts";
import { runStream, type StreamResult } from "../src/client/stream_runner.ts";
import { startServerProcess } from "./server_process.ts";
import { joinedClipsPcm16, pcm16Wav } from "../src/bench/long_utterance.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const CLIPS_DIR = `${ROOT}tests/fixtures/clips`;
/** Stream starts are spread over this long: clients do not arrive together. */
const STAGGER_MS = 2000;

export interface OverloadOptions {
  /** Model directory (default: the tiny test model). */
  model?: string;
  /** Knobs for both servers. */
  knobs?: Record<string, string>;
  /** Seconds of audio each stream sends (the clip looped, an EOS after each pass). */
  durationS: number;
  /**
   * Clips the streams take in turn: names in tests/fixtures/clips, or paths (with a "/").
   * Default: every fixture clip joined into one 18.3 s utterance (src/bench/long_utterance.ts),
   * the load the capacity is priced for; each EOS of a short clip brings one more window (its
   * final) than the model counts.
   */
  clips?: string[];
  /** Offered streams are 1.5× capacity, at most this many (a client on the same cores). */
  maxOffered?: number;
  log?: (line: string) => void;
}

export interface ServerOutcome {
  max_streams: string;
  capacity: number;
  offered: number;
  admitted: number;
  refused: number;
  /** Milliseconds from a refused stream's connect to its 503, p95 and max. */
  refusal_ms: { p95: number | null; max: number | null };
  partial_latency_ms: ReturnType<typeof summarize>;
  target_p95_ms: number;
  held: boolean;
  finals: number;
  finals_missing: number;
  /** Finals equal to the clip's offline transcript (`POST /v1/audio/transcriptions`). */
  finals_exact: number;
  /**
   * Finals equal to the clip's final streamed alone to the idle server: what load must not
   * change. It differs from the offline transcript where a window's limited context changes
   * the model's reading of the clip.
   */
  finals_as_alone: number;
  errors: Record<string, number>;
  load_average: number[];
}

export interface OverloadReport {
  date: string;
  model: string;
  knobs: Record<string, string>;
  duration_s: number;
  announced_capacity: number;
  offered: number;
  step_cost_ms: unknown;
  fixed: ServerOutcome;
  auto: ServerOutcome;
  machine: Record<string, unknown>;
}

interface Clip {
  name: string;
  pcm: Uint8Array;
  bytes: Uint8Array<ArrayBuffer>;
  /** The whole clip transcribed at once (the upload route). */
  offline: string;
  /** The clip's final streamed alone to the idle server, at real time. */
  alone: string;
}

interface Status {
  model: { dir: string; precision: string; ortVersion: string };
  knobs: Record<string, number | string>;
  capacity: { streams: number; step_cost_ms: unknown };
}

async function status(port: number): Promise<Status> {
  return await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json();
}

/** The clip transcribed whole by the server's upload route: the offline transcript. */
async function offlineText(port: number, bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const form = new FormData();
  form.append("file", new Blob([bytes]), "clip.wav");
  const res = await fetch(`http://127.0.0.1:${port}/v1/audio/transcriptions`, {
    method: "POST",
    body: form,
  });
  if (!res.ok) throw new Error(`offline transcript: HTTP ${res.status} ${await res.text()}`);
  return ((await res.json()) as { text: string }).text.trim();
}

async function withServer<T>(
  env: Record<string, string>,
  fn: (server: ServerProcess) => Promise<T>,
): Promise<T> {
  const server = await startServerProcess(env);
  try {
    return await fn(server);
  } finally {
    await stopServer(server);
  }
}

/** Offers `offered` real-time streams to the server on `port`, staggered; what came of them. */
async function offer(
  port: number,
  offered: number,
  clips: Clip[],
  knobs: { stepMs: number; rightContextMs: number },
  durationS: number,
): Promise<{ results: StreamResult[]; clipOf: Clip[]; connectMs: number[] }> {
  const t0 = performance.now();
  const clipOf = Array.from({ length: offered }, (_, i) => clips[i % clips.length]);
  const connectMs: number[] = new Array(offered).fill(0);
  const results = await Promise.all(clipOf.map(async (clip, i) => {
    await sleep((i * STAGGER_MS) / offered - (performance.now() - t0));
    const started = performance.now();
    const passes = Math.max(1, Math.round(durationS * 32000 / clip.pcm.length));
    const r = await runStream({
      url: `ws://127.0.0.1:${port}/ws`,
      clip: clip.pcm,
      totalBytes: passes * clip.pcm.length,
      frameBytes: 640,
      rtf: 1,
      knobs,
      finalTimeoutMs: 30_000,
    });
    connectMs[i] = (r.openedAt ?? r.endedAt) - started;
    return r;
  }));
  return { results, clipOf, connectMs };
}

function outcome(
  maxStreams: string,
  capacity: number,
  targetMs: number,
  run: Awaited<ReturnType<typeof offer>>,
): ServerOutcome {
  const admitted = run.results.map((r, i) => ({ r, clip: run.clipOf[i] }))
    .filter(({ r }) => r.connectError === null);
  const refusedMs = run.results.map((r, i) => ({ r, ms: run.connectMs[i] }))
    .filter(({ r }) => r.connectError !== null).map(({ ms }) => ms);
  const latency = summarize(admitted.flatMap(({ r }) => r.partials.map((p) => p.latencyMs)));
  const finals = admitted.flatMap(({ r, clip }) => r.finals.map((f) => ({ f, clip })));
  const errors: Record<string, number> = {};
  for (const { r } of admitted) {
    for (const e of r.errors) errors[e.code] = (errors[e.code] ?? 0) + 1;
  }
  const refusal = summarize(refusedMs);
  return {
    max_streams: maxStreams,
    capacity,
    offered: run.results.length,
    admitted: admitted.length,
    refused: refusedMs.length,
    refusal_ms: { p95: refusal.p95, max: refusal.max },
    partial_latency_ms: latency,
    target_p95_ms: targetMs,
    held: latency.p95 !== null && latency.p95 <= targetMs,
    finals: finals.length,
    finals_missing: admitted.reduce((a, { r }) => a + r.utterancesSent - r.finals.length, 0),
    finals_exact: finals.filter(({ f, clip }) => f.text.trim() === clip.offline).length,
    finals_as_alone: finals.filter(({ f, clip }) => f.text.trim() === clip.alone).length,
    errors,
    load_average: loadAverage(),
  };
}

/** Runs the `auto` server, then the `MAX_STREAMS=128` one, at 1.5× the announced capacity. */
export async function runOverload(o: OverloadOptions): Promise<OverloadReport> {
  const log = o.log ?? (() => {});
  const knobs = o.knobs ?? {};
  const env = (maxStreams: string) => ({
    ...(o.model ? { MODEL: o.model } : {}),
    ...knobs,
    MAX_STREAMS: maxStreams,
  });
  const pathOf = (name: string) => name.includes("/") ? name : `${CLIPS_DIR}/${name}`;
  const loaded = o.clips
    ? await Promise.all(o.clips.map(async (name) => ({
      name,
      pcm: (await loadClipPcm16(pathOf(name))).pcm,
      bytes: await Deno.readFile(pathOf(name)),
    })))
    : [
      await joinedClipsPcm16(CLIPS_DIR).then((pcm) => ({
        name: "the fixture clips joined",
        pcm,
        bytes: pcm16Wav(pcm),
      })),
    ];
  return await withServer(env("auto"), async (autoServer) => {
    const st = await status(autoServer.port);
    const capacity: number = st.capacity.streams;
    const stepMs = Number(st.knobs.STEP_MS);
    const step = { stepMs, rightContextMs: Number(st.knobs.RIGHT_CONTEXT_MS) };
    const targetMs = stepMs + 100;
    const offered = Math.min(o.maxOffered ?? 256, Math.ceil(capacity * 1.5));
    const clips: Clip[] = [];
    for (const c of loaded) {
      const offline = await offlineText(autoServer.port, c.bytes);
      const alone = await offer(autoServer.port, 1, [{ ...c, offline, alone: "" }], step, 0);
      const final = alone.results[0].finals[0]?.text.trim();
      if (final === undefined) throw new Error(`${c.name} streamed alone got no final`);
      clips.push({ ...c, offline, alone: final });
    }
    log(`auto: capacity ${capacity} streams; offering ${offered} (1.5×) to each server`);
    const autoRun = await offer(autoServer.port, offered, clips, step, o.durationS);
    const auto = outcome("auto", capacity, targetMs, autoRun);
    log(`auto: ${JSON.stringify(auto)}`);
    const fixed = await withServer(env("128"), async (fixedServer) => {
      const run = await offer(fixedServer.port, offered, clips, step, o.durationS);
      return outcome("128", 128, targetMs, run);
    });
    log(`128: ${JSON.stringify(fixed)}`);
    return {
      date: new Date().toISOString(),
      model: st.model.dir,
      knobs: {
        STEP_MS: String(stepMs),
        RIGHT_CONTEXT_MS: String(st.knobs.RIGHT_CONTEXT_MS),
        LEFT_CONTEXT_MS: String(st.knobs.LEFT_CONTEXT_MS),
        MAX_BATCH: String(st.knobs.MAX_BATCH),
        PRECISION: st.model.precision,
        ...knobs,
      },
      duration_s: o.durationS,
      announced_capacity: capacity,
      offered,
      step_cost_ms: st.capacity.step_cost_ms,
      fixed,
      auto,
      machine: describeMachine(st.model.ortVersion),
    };
  });
}

if (import.meta.main) {
  const { values, positionals } = parseArgs({
    args: Deno.args,
    options: {
      model: { type: "string" },
      duration: { type: "string", default: "10" },
      "max-offered": { type: "string", default: "256" },
      /** A clip every stream sends (repeat for several, taken in turn); default: the fixtures joined. */
      clip: { type: "string", multiple: true },
      out: { type: "string", default: `${ROOT}bench/results/overload.json` },
    },
    allowPositionals: true,
  });
  const knobs = Object.fromEntries(positionals.map((p) => p.split("=", 2) as [string, string]));
  const report = await runOverload({
    model: values.model,
    knobs,
    durationS: Number(values.duration),
    clips: values.clip,
    maxOffered: Number(values["max-offered"]),
    log: (l) => console.error(l),
  });
  await Deno.writeTextFile(values.out, JSON.stringify(report, null, 2) + "\n");
  const row = (s: ServerOutcome) =>
    `MAX_STREAMS=${
      s.max_streams.padEnd(4)
    } admitted ${s.admitted}/${s.offered}, refused ${s.refused} (p95 ${s.refusal_ms.p95} ms), partial p95 ${s.partial_latency_ms.p95} ms vs ${s.target_p95_ms} (${
      s.held ? "held" : "missed"
    }), finals as streamed alone ${s.finals_as_alone}/${s.finals}, as offline ${s.finals_exact} (${s.finals_missing} missing)`;
  console.log(row(report.fixed));
  console.log(row(report.auto));
  console.log(`written: ${values.out}`);
}
