/**
 * Runs every attack against a server process while the neighbour streams beside them, then
 * checks the neighbour, the server's RSS and fds against their baseline, and that the server is
 * still running. Attacks of one phase run at once (each from its own source addresses), the
 * phases one after another; everything is bounded in count and time.
 */
import { type ServerProcess } from "../../src/bench/server_process.ts";
import { describeMachine, loadAverage } from "../../src/bench/machine.ts";
import { procStats } from "../process_stats.ts";
import { startServerProcess } from "../server_process.ts";
import type { Attack, AttackReport, StatsSnapshot } from "./attack.ts";
import { sleep } from "./attack.ts";
import { unauthenticatedLargePost, wrongTokens } from "./auth_attacks.ts";
import { connectionFlood, idleKeepAlive, idleTcp, slowloris } from "./connection_attacks.ts";
import { fetchFrom } from "./fetch_from.ts";
import { type AttackKnobs, knob } from "./knobs.ts";
import { clipPcm, prepareMedia } from "./media_files.ts";
import {
  hostMovesPath,
  realtimeHostileValues,
  tinyPartsForm,
  unrepresentableMethod,
} from "./parser_attacks.ts";
import { type NeighbourReport, startNeighbour, streamAlone } from "./neighbour.ts";
import {
  hlsPlaylist,
  hugeRateWav,
  longSilentFlac,
  oddFilenames,
  slowRateWav,
  steadyStateUploads,
  uploadsAtOnce,
} from "./upload_attacks.ts";
import { closeCodes, foreignOrigin, keepaliveStreams, missingKey } from "./ws_admission_attacks.ts";
import {
  compressedAudio,
  deafToPings,
  declaredHugeFrame,
  fragmentedMessage,
} from "./ws_frame_attacks.ts";

/** fds may end this many above or below their baseline (a log file, a pooled handle). */
export const FDS_TOLERANCE = 2;
/** RSS may end this far above its baseline: allocators keep some of what a burst took. */
export const RSS_TOLERANCE_MIB = 64;
/** Time for the server to let go of connections after an attack, before its fds are read. */
const SETTLE_MS = 300;
/** After the neighbour stops: closes and close deadlines pass before the final reading. */
const FINAL_SETTLE_MS = 1_500;
/** How long a stopped server may take to exit before it is killed. */
const STOP_MS = 5_000;

/**
 * The phases, in order. Timer attacks share a phase, their waits overlapping; so do the attacks
 * on the second server, which cannot disturb the first.
 */
export const PHASES: readonly (readonly Attack[])[] = [
  [
    slowloris,
    idleTcp,
    idleKeepAlive,
    keepaliveStreams,
    deafToPings,
    wrongTokens,
    unauthenticatedLargePost,
  ],
  [connectionFlood, missingKey, foreignOrigin, compressedAudio, closeCodes],
  [hostMovesPath, unrepresentableMethod, realtimeHostileValues],
  [fragmentedMessage],
  [declaredHugeFrame],
  // Uploads last: a bomb the server does not refuse keeps it busy after the attack gives up.
  [oddFilenames, tinyPartsForm],
  [uploadsAtOnce],
  [hlsPlaylist, hugeRateWav, slowRateWav, longSilentFlac],
];

export interface AttackRunReport {
  mode: "quick" | "full";
  machine: Record<string, unknown>;
  startedAt: string;
  durationS: number;
  knobs: AttackKnobs;
  tolerances: { fds: number; rssMiB: number };
  server: ServerSummary;
  authServer: ServerSummary;
  neighbour: NeighbourReport;
  attacks: AttackReport[];
  checks: Record<string, boolean>;
  pass: boolean;
}

export interface ServerSummary {
  pid: number;
  baseline: StatsSnapshot;
  after: StatsSnapshot | null;
  /** Exit status if the server exited during the run (it must not). */
  exited: string | null;
}

function snapshot(pid: number): StatsSnapshot {
  const s = procStats(pid);
  return { rssMiB: Math.round(s.rssMiB * 10) / 10, fds: s.fds };
}

/** A server process and whether it has exited. */
async function launch(env: Record<string, string>) {
  const server: ServerProcess = await startServerProcess(env);
  const state = { server, exited: null as string | null };
  server.child.status.then((s) => (state.exited = `code ${s.code}, signal ${s.signal}`));
  return state;
}

export async function runAttacks(
  opts: { quick: boolean; knobs: AttackKnobs; log?: (line: string) => void },
): Promise<AttackRunReport> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const t0 = performance.now();
  const startedAt = new Date().toISOString();
  const loadAtStart = loadAverage();
  const authToken = Array.from(crypto.getRandomValues(new Uint8Array(16)))
    .map((b) => b.toString(16).padStart(2, "0")).join("");
  const [main, auth, media] = await Promise.all([
    launch(opts.knobs.server),
    launch({ ...opts.knobs.server, AUTH_TOKEN: authToken }),
    prepareMedia(),
  ]);
  try {
    const port = main.server.port;
    const status = JSON.parse(
      (await fetchFrom("127.0.0.1", `http://127.0.0.1:${port}/v1/status`)).body,
    );
    const stepKnobs = {
      stepMs: status.knobs.STEP_MS,
      rightContextMs: status.knobs.RIGHT_CONTEXT_MS,
    };
    const url = `ws://127.0.0.1:${port}/ws`;
    const clip = clipPcm();
    const reference = await streamAlone(url, clip, stepKnobs);
    log(
      `attack: server pid ${main.server.child.pid} on ${port}; the clip alone: "${reference.final}"`,
    );
    // The baseline is the server after one round of its admitted upload load, not a cold one.
    const warm = await steadyStateUploads(port, knob(opts.knobs, "MAX_UPLOADS"));
    if (!warm.every((status) => status === 200)) {
      throw new Error(`the steady-state uploads before the baseline got ${warm.join(", ")}`);
    }
    await sleep(SETTLE_MS);
    const baseline = snapshot(main.server.child.pid);
    const authBaseline = snapshot(auth.server.child.pid);

    const neighbour = startNeighbour(url, clip, stepKnobs, reference, opts.quick ? 120 : 900, t0);
    const attacks: AttackReport[] = [];
    let octet = 0;
    for (const phase of PHASES) {
      const reports = await Promise.all(phase.map((attack) => {
        const third = ++octet;
        const target = attack.needsAuthServer ? auth : main;
        return runOne(attack, {
          port: target.server.port,
          pid: target.server.child.pid,
          knobs: opts.knobs,
          media,
          address: (n) => `127.0.${third}.${n}`,
          stats: () => procStats(target.server.child.pid),
          log,
        }, t0);
      }));
      for (const r of reports) {
        log(`attack: ${r.pass ? "pass" : "FAIL"} ${r.name}${r.pass ? "" : `: ${r.failure}`}`);
        attacks.push(r);
      }
    }

    const neighbourReport = await neighbour.stop();
    await sleep(FINAL_SETTLE_MS);
    const alive = (s: typeof main) => s.exited === null;
    const after = alive(main) ? snapshot(main.server.child.pid) : null;
    const authAfter = alive(auth) ? snapshot(auth.server.child.pid) : null;
    const checks = {
      everyAttackAsExpected: attacks.every((a) => a.pass),
      neighbourFinalsExact: neighbourReport.exact,
      neighbourP95WithinBound: neighbourReport.p95WithinBound,
      fdsBackToBaseline: after !== null && Math.abs(after.fds - baseline.fds) <= FDS_TOLERANCE,
      rssBackToBaseline: after !== null && after.rssMiB - baseline.rssMiB <= RSS_TOLERANCE_MIB,
      authServerFdsBack: authAfter !== null &&
        Math.abs(authAfter.fds - authBaseline.fds) <= FDS_TOLERANCE,
      serverNeverExited: alive(main),
      authServerNeverExited: alive(auth),
    };
    return {
      mode: opts.quick ? "quick" : "full",
      machine: {
        ...describeMachine(String(status.model?.ortVersion ?? "unknown")),
        load_average_at_start: loadAtStart,
      },
      startedAt,
      durationS: Math.round((performance.now() - t0) / 100) / 10,
      knobs: opts.knobs,
      tolerances: { fds: FDS_TOLERANCE, rssMiB: RSS_TOLERANCE_MIB },
      server: { pid: main.server.child.pid, baseline, after, exited: main.exited },
      authServer: {
        pid: auth.server.child.pid,
        baseline: authBaseline,
        after: authAfter,
        exited: auth.exited,
      },
      neighbour: neighbourReport,
      attacks,
      checks,
      pass: Object.values(checks).every(Boolean),
    };
  } finally {
    await Promise.all([main, auth].map((s) => stop(s.server)));
  }
}

/** SIGTERM, then SIGKILL if the server has not exited within STOP_MS (a bomb may hold it). */
async function stop(server: ServerProcess): Promise<void> {
  try {
    server.child.kill("SIGTERM");
  } catch { /* already gone */ }
  const timer = setTimeout(() => {
    try {
      server.child.kill("SIGKILL");
    } catch { /* gone meanwhile */ }
  }, STOP_MS);
  await server.child.status;
  clearTimeout(timer);
}

async function runOne(
  attack: Attack,
  ctx: Parameters<Attack["run"]>[0],
  t0: number,
): Promise<AttackReport> {
  const started = performance.now();
  const before = snapshot(ctx.pid);
  let observation;
  try {
    observation = await attack.run(ctx);
  } catch (err) {
    observation = { pass: false, failure: `the attack itself failed: ${err}`, observed: {} };
  }
  await sleep(SETTLE_MS);
  let after: StatsSnapshot;
  try {
    after = snapshot(ctx.pid);
  } catch {
    after = { rssMiB: 0, fds: 0 }; // the server is gone: the run's checks say so
  }
  return {
    name: attack.name,
    sent: attack.sent(ctx.knobs),
    expected: attack.expected(ctx.knobs),
    pass: observation.pass,
    failure: observation.failure,
    observed: observation.observed,
    startedS: Math.round((started - t0) / 100) / 10,
    durationS: Math.round((performance.now() - started) / 100) / 10,
    before,
    after,
  };
}
