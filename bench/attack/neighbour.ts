/**
 * The well-behaved neighbour: one WebSocket from 127.0.0.1 streaming the clip at real time,
 * utterance after utterance, while the attacks run. Its finals must equal the clip streamed
 * alone before the attacks, and its partial latency (stream_runner's measure: arrival minus the
 * send time of the audio the partial covers) must stay within STEP_MS + 100 ms at p95.
 */
import type { StepKnobs } from "../../src/client/coverage.ts";
import { type LatencySummary, summarize } from "../../src/client/latency_stats.ts";
import { frameBytesFor } from "../../src/client/pcm.ts";
import { sleep } from "../../src/client/pacing.ts";
import { runStream, type StreamResult } from "../../src/client/stream_runner.ts";

/** 20 ms frames, as a microphone client sends them. */
const FRAME_BYTES = frameBytesFor(20);
/** How long to wait for the outstanding finals once the neighbour stops. */
const FINAL_TIMEOUT_MS = 10_000;
/** Pause before the neighbour connects again after the server closed it. */
const RECONNECT_MS = 200;
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
    endedByServer: boolean;
    /** Seconds since the start of the run. */
    endedAtS: number;
    /** Utterances ended with EOS, and the finals that came back for them. */
    utterancesSent: number;
    finals: number;
  }[];
  errors: string[];
  connectErrors: string[];
  maxSendSlipMs: number;
}

function options(url: string, clip: Uint8Array, knobs: StepKnobs, totalBytes: number) {
  return {
    url,
    clip,
    totalBytes,
    frameBytes: FRAME_BYTES,
    rtf: 1,
    knobs,
    finalTimeoutMs: FINAL_TIMEOUT_MS,
  };
}

/** The clip streamed alone at real time: the final every neighbour utterance must equal. */
export async function streamAlone(url: string, clip: Uint8Array, knobs: StepKnobs) {
  const r = await runStream(options(url, clip, knobs, clip.length));
  return {
    final: r.finals[0]?.text ?? null,
    p95Ms: summarize(r.partials.map((p) => p.latencyMs)).p95,
    error: r.connectError ?? (r.errors[0]?.message ?? null),
  };
}

/**
 * Starts the neighbour (bounded to `maxS`); `stop()` ends it and judges it. A neighbour the
 * server closes connects again (after a pause), so later attacks still have one beside them;
 * the close itself makes the finals check fail.
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
  const abort = new AbortController();
  const until = performance.now() + maxS * 1000;
  const passes = Math.ceil((maxS * 32_000) / clip.length);
  const sessions: StreamResult[] = [];
  const running = (async () => {
    while (!abort.signal.aborted && performance.now() < until) {
      sessions.push(
        await runStream({
          ...options(url, clip, knobs, passes * clip.length),
          signal: abort.signal,
        }),
      );
      await sleep(RECONNECT_MS, abort.signal);
    }
  })();
  return {
    async stop() {
      abort.abort();
      await running;
      return judgeNeighbour(sessions, clip, knobs, reference, t0);
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
    exact: reference.final !== null && whole.length > 0 && wrong.length === 0 &&
      sessions.length === 1 && errors.length === 0 && connectErrors.length === 0,
    partialLatencyMs: latency,
    p95BoundMs: bound,
    p95WithinBound: latency.p95 !== null && latency.p95 <= bound,
    connections: sessions.map((r) => ({
      closeCode: r.closeCode,
      closeReason: r.closeReason,
      endedByServer: r.abnormal,
      endedAtS: Math.round((r.endedAt - t0) / 100) / 10,
      utterancesSent: r.utterancesSent,
      finals: r.finals.length,
    })),
    errors,
    connectErrors,
    maxSendSlipMs: Math.round(Math.max(0, ...sessions.map((r) => r.maxSendSlipMs))),
  };
}
