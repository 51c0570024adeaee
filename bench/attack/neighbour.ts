/**
 * The well-behaved neighbour: one WebSocket from 127.0.0.1 streaming the clip at real time,
 * utterance after utterance, while the attacks run. Its finals must equal the clip streamed
 * alone before the attacks, and its partial latency (stream_runner's measure: arrival minus the
 * send time of the audio the partial covers) must stay within STEP_MS + 100 ms at p95.
 */
import type { StepKnobs } from "../../src/client/coverage.ts";
import { type LatencySummary, summarize } from "../../src/client/latency_stats.ts";
import type { StreamResult } from "../../src/client/stream_runner.ts";

export { streamAlone } from "./neighbour_stream.ts";

/** Partial latency p95 may exceed one step by this much. */
export const P95_MARGIN_MS = 100;

export interface NeighbourReport {
  reference: string | null;
  referenceP95Ms: number | null;
  /** Complete utterances streamed beside the attacks, and those whose final differed. */
  utterances: number;
  wrong: string[];
  exact: boolean;
  partialLatencyMs: LatencySummary;
  p95BoundMs: number;
  p95WithinBound: boolean;
  /** Every connection the neighbour made: one, unless the server closed it. */
  connections: {
    closeCode: number | null;
    closeReason: string;
    /** Closed by the server, or finals missing, or our close never answered (stream_runner). */
    abnormal: boolean;
    /** Seconds since the start of the run. */
    endedAtS: number;
    /** Utterances ended with EOS, and the finals that came back for them. */
    utterancesSent: number;
    finals: number;
  }[];
  /** Utterances sent whose final never came. */
  finalsMissing: number;
  /**
   * The longest time without any message from the server while the neighbour was connected:
   * partials that never arrive leave no latency sample, so a stalled server shows here.
   */
  longestSilenceMs: number;
  errors: string[];
  connectErrors: string[];
  maxSendSlipMs: number;
}

/**
 * Starts the neighbour in its worker (bounded to `maxS`); `stop()` ends it and judges it. A
 * neighbour the server closes connects again, and the close makes the finals check fail.
 */
export function startNeighbour(
  url: string,
  clip: Uint8Array,
  knobs: StepKnobs,
  reference: { final: string | null; p95Ms: number | null },
  maxS: number,
  /** performance.now() at the start of the run, for the times connections ended. */
  t0: number,
): { stop(): Promise<NeighbourReport> } {
  const worker = new Worker(new URL("./neighbour_worker.ts", import.meta.url).href, {
    type: "module",
  });
  const done = new Promise<{ sessions: StreamResult[]; timeOrigin: number }>((resolve) => {
    worker.onmessage = (e) => resolve(e.data);
    // A worker that dies reports no session: the finals check then fails instead of hanging.
    worker.onerror = (e) => {
      e.preventDefault();
      console.error(`neighbour worker failed: ${e.message}`);
      resolve({ sessions: [], timeOrigin: performance.timeOrigin });
    };
  });
  worker.postMessage({ type: "start", url, clip, knobs, maxS });
  return {
    async stop() {
      worker.postMessage({ type: "stop" });
      const { sessions, timeOrigin } = await done;
      worker.terminate();
      // The worker's clock has its own origin: its times are moved onto this thread's.
      const shift = timeOrigin - performance.timeOrigin;
      return judgeNeighbour(sessions, clip, knobs, reference, t0 - shift);
    },
  };
}

function judgeNeighbour(
  sessions: StreamResult[],
  clip: Uint8Array,
  knobs: StepKnobs,
  reference: { final: string | null; p95Ms: number | null },
  t0: number,
): NeighbourReport {
  // An utterance cut short (by the stop, or by a close) is not compared: only whole passes.
  const whole = sessions.flatMap((r) => r.finals)
    .filter((f) => Math.abs(f.audioMs - clip.length / 32) < 1);
  const wrong = whole.filter((f) => f.text !== reference.final).map((f) => f.text);
  const latency = summarize(sessions.flatMap((r) => r.partials.map((p) => p.latencyMs)));
  const bound = knobs.stepMs + P95_MARGIN_MS;
  const errors = sessions.flatMap((r) => r.errors.map((e) => `${e.code}: ${e.message}`));
  const connectErrors = sessions.flatMap((r) => r.connectError === null ? [] : [r.connectError]);
  return {
    reference: reference.final,
    referenceP95Ms: reference.p95Ms,
    utterances: whole.length,
    wrong,
    // One connection, never closed by the server, a final for every utterance sent, all equal
    // to the clip alone, and no error message.
    exact: reference.final !== null && whole.length > 0 && wrong.length === 0 &&
      sessions.length === 1 && !sessions[0].abnormal && errors.length === 0 &&
      connectErrors.length === 0,
    partialLatencyMs: latency,
    p95BoundMs: bound,
    p95WithinBound: latency.p95 !== null && latency.p95 <= bound,
    connections: sessions.map((r) => ({
      closeCode: r.closeCode,
      closeReason: r.closeReason,
      abnormal: r.abnormal,
      endedAtS: Math.round((r.endedAt - t0) / 100) / 10,
      utterancesSent: r.utterancesSent,
      finals: r.finals.length,
    })),
    finalsMissing: sessions.reduce(
      (n, r) => n + Math.max(0, r.utterancesSent - r.finals.length),
      0,
    ),
    longestSilenceMs: Math.round(Math.max(0, ...sessions.map(longestSilence))),
    errors,
    connectErrors,
    maxSendSlipMs: Math.round(Math.max(0, ...sessions.map((r) => r.maxSendSlipMs))),
  };
}

/** The longest gap between server messages (from the first audio sent to the end). */
function longestSilence(r: StreamResult): number {
  if (r.firstSendAt === null) return 0;
  const times = [
    r.firstSendAt,
    ...r.partials.map((p) => p.at),
    ...r.finals.map((f) => f.at),
    r.endedAt,
  ]
    .sort((a, b) => a - b);
  let longest = 0;
  for (let i = 1; i < times.length; i++) longest = Math.max(longest, times[i] - times[i - 1]);
  return longest;
}
