/**
 * Soak: a real server process under churn, long sessions and hostile clients, sampled for RSS,
 * open file descriptors, open streams, /status latency and step latency (from /metrics).
 *
 *   deno run -A bench/soak.ts [--duration 180] [--streams 4] [--out bench/results/soak-….json]
 *
 * Everything runs on loopback, bounded in count and time, and stops by itself. Well-behaved
 * finals are checked against the same clip streamed alone at the start of the run (the
 * batch-company and framing invariants make them equal; tests prove those separately).
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { wavPcm16Mono16k } from "../src/audio/wav.ts";
import { stopServer } from "../src/bench/server_process.ts";
import { StreamSocket } from "../src/client/stream_socket.ts";
import { startServerProcess } from "./server_process.ts";
import { writeSoakPlot } from "./soak_plot.ts";
import { procStats } from "./process_stats.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
/** A leak of 100 KiB per well-behaved stream crosses this within a 3-minute run. */
const RSS_GROWTH_LIMIT_MIB = 48;
const CLIPS = ["digits_pi.wav", "seven_eight.wav", "yes_countdown.wav", "six_thousand.wav"];

export interface SoakOptions {
  durationS: number;
  streams: number;
  sampleEveryS: number;
  hostileEveryS: number;
  log?: (line: string) => void;
}

export interface Sample {
  t: number;
  rssMiB: number;
  fds: number;
  openStreams: number;
  statusMs: number;
  stepP95Ms: number | null;
  /** The main isolate's V8 heap in use and its external memory (buffers), from /metrics. */
  heapMiB?: number;
  heapTotalMiB?: number;
  externalMiB?: number;
  /** The main isolate's heap reservation per V8 space (new_space, old_space, …). */
  heapSpacesMiB?: Record<string, number>;
  /** Resident anonymous memory (heaps, arenas) and resident file pages (code, mapped files). */
  anonMiB?: number;
  fileMiB?: number;
}

export interface SoakReport {
  durationS: number;
  samples: Sample[];
  wellBehaved: { streams: number; correct: number; wrong: string[]; eosToFinalP95Ms: number };
  longSession: { utterances: number; correct: number };
  hostile: Record<string, { runs: number; asExpected: number; seen: string[] }>;
  rssSlopeMiBPer10Min: number;
  /** Peak RSS after the first third minus the peak during it. */
  rssGrowthMiB: number;
  fdsBaseline: number;
  fdsAfter: number;
  stepP95FirstThirdMs: number | null;
  stepP95LastThirdMs: number | null;
  targets: Record<string, boolean>;
}

function pcmOf(clip: string): Uint8Array {
  return wavPcm16Mono16k(Deno.readFileSync(`${ROOT}tests/fixtures/clips/${clip}`), clip);
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return 0;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))];
}

/** Streams one clip over a fresh connection at `rtf`; resolves with the final (or null). */
async function streamOnce(
  url: string,
  pcm: Uint8Array,
  rtf: number,
  until: number,
): Promise<{ final: string | null; eosToFinalMs: number }> {
  const socket = await StreamSocket.open(url);
  // Sending stops 30 s past the end of the run whatever happens.
  const cutoff = new AbortController();
  const timer = setTimeout(() => cutoff.abort(), Math.max(0, until + 30_000 - Date.now()));
  await socket.sendPcm(pcm, { rtf, signal: cutoff.signal });
  clearTimeout(timer);
  const eosAt = performance.now();
  if (socket.isOpen) socket.sendEos("text");
  await socket.waitFor(() => socket.finals.length > 0, 20_000);
  const final = socket.ofType("final")[0];
  if (socket.isOpen) await socket.close();
  return {
    final: final ? String(final.message!.text) : null,
    eosToFinalMs: final ? final.at - eosAt : NaN,
  };
}

/** What one hostile client did and what it got back. */
async function hostile(kind: string, url: string, port: number): Promise<string> {
  const socket = await StreamSocket.open(url);
  const seen = () =>
    socket.received.map((r) =>
      String(r.message?.type === "error" ? r.message.code : r.message?.type)
    )
      .join("+");
  const wait = (ms: number) =>
    Promise.race([socket.closed.then((c) => c.code), sleep(ms).then(() => -1)]);
  switch (kind) {
    case "oversized": {
      socket.send(new Uint8Array(1_048_577));
      const code = await wait(5000);
      return `${seen()}/${code}`;
    }
    case "flood": {
      // 36 s at once in two frames under the frame limit: over MAX_BACKLOG_S=30.
      socket.send(new Uint8Array(32_000 * 18));
      socket.send(new Uint8Array(32_000 * 18));
      const code = await wait(5000);
      return `${seen()}/${code}`;
    }
    case "idle": {
      const code = await wait(10_000);
      return `${seen()}/${code}`;
    }
    case "malformed": {
      socket.send("not a control frame");
      socket.sendEos("text");
      await sleep(500);
      socket.ws.close(1000);
      const code = await wait(3000);
      return `${seen()}/${code}`;
    }
    case "abrupt": {
      socket.send(pcmOf("digits_pi.wav"));
      socket.sendEos("text");
      // Vanish without a close frame, mid-inference.
      const raw = await Deno.connect({ hostname: "127.0.0.1", port });
      raw.close();
      socket.ws.close(4000);
      return `abrupt/${await wait(3000)}`;
    }
    default:
      socket.ws.close();
      return "unknown";
  }
}

const EXPECTED: Record<string, string> = {
  oversized: "message_too_large/1009",
  flood: "rate_exceeded/1008",
  idle: "idle_timeout/1008",
  malformed: "invalid_message+final/1000",
  abrupt: "abrupt/4000",
};

/** A raw TCP client that completes the handshake, reads our close, and never answers it. */
async function deafPeer(port: number): Promise<string> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const key = btoa("soak-deaf-peer!!");
  await conn.write(new TextEncoder().encode(
    `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  ));
  let got = "";
  // Give up after 12 s whatever happens: closing the socket ends the read loop.
  const timer = setTimeout(() => conn.close(), 12_000);
  try {
    const buf = new Uint8Array(4096);
    for (;;) {
      const n = await conn.read(buf);
      if (n === null) break;
      got += new TextDecoder().decode(buf.subarray(0, n));
      if (/idle_timeout/.test(got)) break;
    }
  } catch {
    // closed by the timer or the server
  }
  clearTimeout(timer);
  // Hold the connection without answering the close, past the server's close deadline.
  await sleep(2500);
  try {
    conn.close();
  } catch {
    // already closed
  }
  return /idle_timeout/.test(got) ? "deaf/idle_timeout" : "deaf/" + got.slice(0, 40);
}

async function readMetrics(
  http: string,
): Promise<
  {
    buckets: Map<string, number>;
    heapMiB: number;
    heapTotalMiB: number;
    externalMiB: number;
    heapSpacesMiB: Record<string, number>;
  }
> {
  const text = await (await fetch(`${http}/metrics`)).text();
  const buckets = new Map<string, number>();
  let heapMiB = 0;
  let heapTotalMiB = 0;
  let externalMiB = 0;
  const heapSpacesMiB: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const space = line.match(/^parakeet_main_heap_space_bytes\{space="(\w+)"\} (\d+)/);
    if (space) heapSpacesMiB[space[1]] = Math.round(Number(space[2]) / 2 ** 20 * 10) / 10;
    if (line.startsWith("parakeet_step_latency_seconds_bucket")) {
      const le = line.match(/le="([^"]+)"/)?.[1];
      if (le) buckets.set(le, Number(line.split(" ").at(-1)));
    }
    const mib = () => Math.round(Number(line.split(" ").at(-1)) / 2 ** 20 * 10) / 10;
    if (line.startsWith("parakeet_main_heap_used_bytes ")) heapMiB = mib();
    if (line.startsWith("parakeet_main_heap_total_bytes ")) heapTotalMiB = mib();
    if (line.startsWith("parakeet_main_external_bytes ")) externalMiB = mib();
  }
  return { buckets, heapMiB, heapTotalMiB, externalMiB, heapSpacesMiB };
}

/** p95 of the step latencies observed between two scrapes, from the histogram's bucket deltas. */
function p95Between(a: Map<string, number>, b: Map<string, number>): number | null {
  const les = [...b.keys()].sort((
    x,
    y,
  ) => (x === "+Inf" ? 1 : y === "+Inf" ? -1 : Number(x) - Number(y)));
  const total = (b.get("+Inf") ?? 0) - (a.get("+Inf") ?? 0);
  if (total <= 0) return null;
  for (const le of les) {
    if ((b.get(le)! - (a.get(le) ?? 0)) >= 0.95 * total) {
      return le === "+Inf" ? Infinity : Number(le) * 1000;
    }
  }
  return null;
}

function slope(xs: number[], ys: number[]): number {
  const n = xs.length;
  if (n < 2) return 0;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let num = 0;
  let den = 0;
  for (let i = 0; i < n; i++) {
    num += (xs[i] - mx) * (ys[i] - my);
    den += (xs[i] - mx) ** 2;
  }
  return den === 0 ? 0 : num / den;
}

export async function runSoak(opts: SoakOptions): Promise<SoakReport> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const server = await startServerProcess({
    IDLE_TIMEOUT_S: "5",
    CLOSE_TIMEOUT_S: "2",
    MAX_BACKLOG_S: "30",
  });
  const { child, port } = server;
  const url = `ws://127.0.0.1:${port}/ws`;
  const http = `http://127.0.0.1:${port}`;
  try {
    const reference = new Map<string, string | null>();
    for (const c of CLIPS) {
      reference.set(c, (await streamOnce(url, pcmOf(c), 50, Date.now())).final);
    }
    const fdsBaseline = procStats(child.pid).fds;
    log(
      `soak: server pid ${child.pid} on ${port}, ${opts.durationS} s, baseline fds ${fdsBaseline}`,
    );

    const t0 = Date.now();
    const until = t0 + opts.durationS * 1000;
    const report: SoakReport = {
      durationS: opts.durationS,
      samples: [],
      wellBehaved: { streams: 0, correct: 0, wrong: [], eosToFinalP95Ms: 0 },
      longSession: { utterances: 0, correct: 0 },
      hostile: {},
      rssSlopeMiBPer10Min: 0,
      rssGrowthMiB: 0,
      fdsBaseline,
      fdsAfter: 0,
      stepP95FirstThirdMs: null,
      stepP95LastThirdMs: null,
      targets: {},
    };
    const eosLatencies: number[] = [];

    const workers = Array.from({ length: opts.streams }, async (_, w) => {
      for (let k = w; Date.now() < until; k++) {
        const clip = CLIPS[k % CLIPS.length];
        const r = await streamOnce(url, pcmOf(clip), 1, until);
        report.wellBehaved.streams++;
        if (r.final === reference.get(clip)) report.wellBehaved.correct++;
        else report.wellBehaved.wrong.push(`${clip}: ${r.final}`);
        if (Number.isFinite(r.eosToFinalMs)) eosLatencies.push(r.eosToFinalMs);
      }
    });

    const longSession = (async () => {
      const socket = await StreamSocket.open(url);
      const sent: string[] = [];
      for (let k = 0; Date.now() < until && socket.isOpen; k++) {
        const clip = CLIPS[k % CLIPS.length];
        await socket.sendPcm(pcmOf(clip), { rtf: 1 });
        socket.sendEos("text");
        sent.push(clip);
      }
      await socket.waitFor(() => socket.finals.length >= sent.length, 20_000);
      const finals = socket.finals;
      await socket.close();
      report.longSession.utterances = sent.length;
      report.longSession.correct = sent.filter((c, i) => finals[i] === reference.get(c)).length;
    })();

    const kinds = [...Object.keys(EXPECTED), "deaf"];
    const hostiles = (async () => {
      const pending: Promise<void>[] = [];
      for (let k = 0; Date.now() < until - 12_000; k++) {
        const kind = kinds[k % kinds.length];
        pending.push((async () => {
          const seen = kind === "deaf" ? await deafPeer(port) : await hostile(kind, url, port);
          const expected = kind === "deaf" ? "deaf/idle_timeout" : EXPECTED[kind];
          const h = report.hostile[kind] ??= { runs: 0, asExpected: 0, seen: [] };
          h.runs++;
          if (seen === expected) h.asExpected++;
          else if (h.seen.length < 5) h.seen.push(seen);
        })());
        await sleep(opts.hostileEveryS * 1000);
      }
      await Promise.all(pending);
    })();

    let prevMetrics = await readMetrics(http);
    const sampler = (async () => {
      while (Date.now() < until) {
        await sleep(opts.sampleEveryS * 1000);
        const s0 = performance.now();
        const status = await (await fetch(`${http}/v1/status`)).json();
        const statusMs = performance.now() - s0;
        const metrics = await readMetrics(http);
        const { rssMiB, anonMiB, fileMiB, fds } = procStats(child.pid);
        report.samples.push({
          t: (Date.now() - t0) / 1000,
          rssMiB: Math.round(rssMiB * 10) / 10,
          fds,
          openStreams: status.streams.open,
          statusMs: Math.round(statusMs * 10) / 10,
          stepP95Ms: p95Between(prevMetrics.buckets, metrics.buckets),
          heapMiB: metrics.heapMiB,
          heapTotalMiB: metrics.heapTotalMiB,
          externalMiB: metrics.externalMiB,
          heapSpacesMiB: metrics.heapSpacesMiB,
          anonMiB: Math.round(anonMiB * 10) / 10,
          fileMiB: Math.round(fileMiB * 10) / 10,
        });
        prevMetrics = metrics;
      }
    })();

    await Promise.all([...workers, longSession, hostiles, sampler]);
    await sleep(3000); // close deadlines pass
    report.fdsAfter = procStats(child.pid).fds;
    report.wellBehaved.eosToFinalP95Ms = Math.round(percentile(eosLatencies, 0.95));

    const tail = report.samples.filter((s) => s.t >= opts.durationS / 3);
    report.rssSlopeMiBPer10Min = Math.round(
      slope(tail.map((s) => s.t), tail.map((s) => s.rssMiB)) * 600 * 100,
    ) / 100;
    // Peak after the first third against the peak of the first third: what a leak per stream
    // or per hostile client adds up to, insensitive to the allocator's short-term swings.
    const peak = (xs: Sample[]) => xs.reduce((m, s) => Math.max(m, s.rssMiB), 0);
    const head = report.samples.filter((s) => s.t < opts.durationS / 3);
    report.rssGrowthMiB = Math.round((peak(tail) - peak(head)) * 10) / 10;
    const third = (from: number, to: number) => {
      const xs = report.samples.filter((s) => s.t >= from && s.t < to && s.stepP95Ms !== null)
        .map((s) => s.stepP95Ms!);
      return xs.length ? percentile(xs, 0.5) : null;
    };
    report.stepP95FirstThirdMs = third(0, opts.durationS / 3);
    report.stepP95LastThirdMs = third((2 * opts.durationS) / 3, Infinity);
    const hostileOk = Object.values(report.hostile).every((h) => h.asExpected === h.runs);
    report.targets = {
      // A slope over minutes is allocator noise: only runs of 30 min and more are held to
      // 1 MiB per 10 min. Every run is held to a bounded peak.
      ...(opts.durationS >= 1800 ? { rssFlat: report.rssSlopeMiBPer10Min < 1 } : {}),
      rssBounded: report.rssGrowthMiB < RSS_GROWTH_LIMIT_MIB,
      fdsBackToBaseline: report.fdsAfter <= report.fdsBaseline + 2,
      everyFinalCorrect: report.wellBehaved.correct === report.wellBehaved.streams &&
        report.longSession.correct === report.longSession.utterances,
      everyHostileOutcome: hostileOk,
      noLatencyDrift: report.stepP95FirstThirdMs === null || report.stepP95LastThirdMs === null ||
        report.stepP95LastThirdMs <= 1.5 * report.stepP95FirstThirdMs + 50,
    };
    return report;
  } finally {
    await stopServer(server);
  }
}

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      duration: { type: "string", default: "180" },
      streams: { type: "string", default: "4" },
      out: { type: "string" },
    },
  });
  const durationS = Number(values.duration);
  const report = await runSoak({
    durationS,
    streams: Number(values.streams),
    sampleEveryS: durationS >= 600 ? 10 : 2,
    hostileEveryS: 2,
  });
  const date = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
  const out = values.out ?? `${ROOT}bench/results/soak-${date}-${durationS}s.json`;
  const machine = {
    cpu: Deno.readTextFileSync("/proc/cpuinfo").match(/model name\s*:\s*(.*)/)?.[1],
    cores: navigator.hardwareConcurrency,
    memGiB: Math.round(Deno.systemMemoryInfo().total / 2 ** 30),
    os: Deno.osRelease(),
    deno: Deno.version.deno,
    loadavg: Deno.loadavg(),
  };
  await Deno.writeTextFile(out, JSON.stringify({ machine, ...report }, null, 1));
  writeSoakPlot(report.samples, out.replace(/\.json$/, ".svg"), `soak ${durationS} s`);
  console.log(JSON.stringify({ targets: report.targets, out }, null, 1));
}
