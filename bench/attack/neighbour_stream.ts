/** The neighbour's streaming: the clip at real time in 20 ms frames, utterance after utterance. */
import type { StepKnobs } from "../../src/client/coverage.ts";
import { summarize } from "../../src/client/latency_stats.ts";
import { sleep } from "../../src/client/pacing.ts";
import { frameBytesFor } from "../../src/client/pcm.ts";
import { runStream, type StreamResult } from "../../src/client/stream_runner.ts";

/** 20 ms frames, as a microphone client sends them. */
const FRAME_BYTES = frameBytesFor(20);
/** How long to wait for the outstanding finals once the neighbour stops (one takes < 1 s). */
const FINAL_TIMEOUT_MS = 3_000;
/** Pause before the neighbour connects again after the server closed it. */
const RECONNECT_MS = 200;

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
 * Streams the clip over and over (at most `maxS`) until `signal` aborts. A connection the server
 * closes is made again after a pause, so later attacks still have a neighbour beside them.
 */
export async function streamUntilStopped(
  url: string,
  clip: Uint8Array,
  knobs: StepKnobs,
  maxS: number,
  signal: AbortSignal,
): Promise<StreamResult[]> {
  const until = performance.now() + maxS * 1000;
  const passes = Math.ceil((maxS * 32_000) / clip.length);
  const sessions: StreamResult[] = [];
  while (!signal.aborted && performance.now() < until) {
    sessions.push(await runStream({ ...options(url, clip, knobs, passes * clip.length), signal }));
    await sleep(RECONNECT_MS, signal);
  }
  return sessions;
}
