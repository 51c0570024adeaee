import type { StepKnobs } from "../client/coverage.ts";
import { type LatencySummary, summarize } from "../client/latency_stats.ts";
import { sleep } from "../client/pacing.ts";
import { bytesToMs } from "../client/pcm.ts";
import { runStream, type StreamResult } from "../client/stream_runner.ts";

export interface PhaseOptions {
  url: string;
  /** The server's token, for every stream. */
  token?: string;
  streams: number;
  durationS: number;
  clip: Uint8Array;
  frameBytes: number;
  knobs: StepKnobs;
  /** Stream starts are spread evenly over this long, as real clients do not arrive together. */
  staggerMs: number;
  finalTimeoutMs: number;
  /** Called about once a second with the running counts (for a progress display). */
  onProgress?: (p: PhaseProgress) => void;
}

export interface PhaseProgress {
  elapsedS: number;
  open: number;
  partials: number;
  finals: number;
  errors: number;
  /** p95 partial latency over the last few seconds (null before any partial). */
  recentP95Ms: number | null;
}

export interface PhaseReport {
  streams: number;
  duration_s: number;
  connected: number;
  connect_failures: { count: number; first: string | null };
  partials: number;
  partial_latency_ms: LatencySummary;
  /** "words" when every partial was located from its word times, "sent" otherwise. */
  partial_latency_basis: "words" | "sent" | "none";
  finals: number;
  finals_missing: number;
  eos_to_final_ms: LatencySummary;
  audio_seconds_sent: number;
  wall_seconds: number;
  /** Audio seconds sent ÷ wall seconds until the last final: ≈ streams when keeping up. */
  throughput_x_realtime: number;
  /**
   * Mean over streams of audio sent ÷ (first frame → last final and close): 1.0 = transcribed
   * at real time; the EOS → final tail keeps it a little under 1 on short runs.
   */
  realtime_factor_per_stream: number;
  errors: Record<string, number>;
  closes: Record<string, number>;
  abnormal_streams: number;
  /** Worst lag of this client's own sending behind its schedule (a loaded client machine). */
  max_send_slip_ms: number;
}

const RECENT_WINDOW_MS = 5000;

/** Runs `streams` real-time streams for `durationS` seconds each and aggregates the results. */
export async function runPhase(o: PhaseOptions): Promise<PhaseReport> {
  const t0 = performance.now();
  const recent: { at: number; ms: number }[] = [];
  let open = 0, partials = 0, finals = 0, errors = 0;
  const progress = setInterval(() => {
    const now = performance.now();
    while (recent.length && recent[0].at < now - RECENT_WINDOW_MS) recent.shift();
    o.onProgress?.({
      elapsedS: (now - t0) / 1000,
      open,
      partials,
      finals,
      errors,
      recentP95Ms: summarize(recent.map((r) => r.ms)).p95,
    });
  }, 1000);
  const totalBytes = Math.round(o.durationS * 32000) & ~1;
  const runs: Promise<StreamResult>[] = [];
  for (let i = 0; i < o.streams; i++) {
    const delay = o.streams > 1 ? (i * o.staggerMs) / o.streams : 0;
    runs.push(
      sleep(delay - (performance.now() - t0)).then(() => {
        open++;
        return runStream({
          url: o.url,
          token: o.token,
          clip: o.clip,
          totalBytes,
          frameBytes: o.frameBytes,
          rtf: 1,
          knobs: o.knobs,
          finalTimeoutMs: o.finalTimeoutMs,
          onPartial: (p) => {
            partials++;
            recent.push({ at: p.at, ms: p.latencyMs });
          },
          onFinal: () => finals++,
          onError: () => errors++,
        }).finally(() => open--);
      }),
    );
  }
  let results: StreamResult[];
  try {
    results = await Promise.all(runs);
  } finally {
    clearInterval(progress);
  }
  return aggregate(o, results, t0);
}

function aggregate(o: PhaseOptions, results: StreamResult[], t0: number): PhaseReport {
  const connected = results.filter((r) => r.connectError === null);
  const failures = results.filter((r) => r.connectError !== null);
  const partials = connected.flatMap((r) => r.partials);
  const finals = connected.flatMap((r) => r.finals);
  const count = (keys: string[]) =>
    keys.reduce<Record<string, number>>((acc, k) => ((acc[k] = (acc[k] ?? 0) + 1), acc), {});
  const bytes = connected.reduce((a, r) => a + r.bytesSent, 0);
  const end = Math.max(t0, ...results.map((r) => r.endedAt));
  const wall = (end - t0) / 1000;
  const throughput = wall > 0 ? bytesToMs(bytes) / 1000 / wall : 0;
  const round3 = (x: number) => Math.round(x * 1000) / 1000;
  return {
    streams: o.streams,
    duration_s: o.durationS,
    connected: connected.length,
    connect_failures: { count: failures.length, first: failures[0]?.connectError ?? null },
    partials: partials.length,
    partial_latency_ms: summarize(partials.map((p) => p.latencyMs)),
    partial_latency_basis: partials.length === 0
      ? "none"
      : partials.every((p) => p.basis === "words")
      ? "words"
      : "sent",
    finals: finals.length,
    finals_missing: connected.reduce((a, r) => a + r.utterancesSent - r.finals.length, 0),
    eos_to_final_ms: summarize(finals.map((f) => f.eosToFinalMs)),
    audio_seconds_sent: round3(bytesToMs(bytes) / 1000),
    wall_seconds: round3(wall),
    throughput_x_realtime: round3(throughput),
    realtime_factor_per_stream: round3(meanStreamRate(connected)),
    errors: count(connected.flatMap((r) => r.errors.map((e) => e.code))),
    closes: count(connected.map((r) => String(r.closeCode ?? "none"))),
    abnormal_streams: connected.filter((r) => r.abnormal).length,
    max_send_slip_ms: Math.round(Math.max(0, ...connected.map((r) => r.maxSendSlipMs))),
  };
}

/**
 * Whether a phase held the target: every stream connected, no error, no abnormal close, no
 * missing final, and p95 latency within the target, both of the partials and of the finals
 * (EOS → final). A server falling behind can look on time through its partials when they are
 * few (a model that rarely changes its text sends a partial only when it does), but every final
 * waits for the whole backlog.
 */
export function phaseHeld(r: PhaseReport, targetMs: number): { held: boolean; why: string } {
  if (r.connect_failures.count > 0) {
    return { held: false, why: `${r.connect_failures.count} stream(s) could not connect` };
  }
  const errs = Object.values(r.errors).reduce((a, b) => a + b, 0);
  if (errs > 0) return { held: false, why: `${errs} server error(s)` };
  if (r.abnormal_streams > 0) {
    return { held: false, why: `${r.abnormal_streams} abnormal close(s)` };
  }
  const measured = [
    ...(r.partials > 0 ? [{ what: "partial", p95: r.partial_latency_ms.p95 }] : []),
    ...(r.eos_to_final_ms.count > 0 ? [{ what: "EOS → final", p95: r.eos_to_final_ms.p95 }] : []),
  ];
  if (measured.length === 0 || measured.some((m) => m.p95 === null)) {
    return { held: false, why: "no latency measured" };
  }
  const missed = measured.find((m) => m.p95! > targetMs);
  if (missed) return { held: false, why: `${missed.what} p95 ${missed.p95} ms > ${targetMs} ms` };
  return {
    held: true,
    why: measured.map((m) => `${m.what} p95 ${m.p95} ms`).join(", ") + ` ≤ ${targetMs} ms`,
  };
}

function meanStreamRate(results: StreamResult[]): number {
  const rates = results.filter((r) => r.firstSendAt !== null && r.endedAt > r.firstSendAt!)
    .map((r) => bytesToMs(r.bytesSent) / (r.endedAt - r.firstSendAt!));
  return rates.length ? rates.reduce((a, b) => a + b, 0) / rates.length : 0;
}
