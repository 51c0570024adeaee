/**
 * What one live stream's host-side work costs per step, outside inference: its WebSocket
 * frames parsed (20 ms of PCM16 each), the log-mel features of STEP_MS of audio, the session's
 * step bookkeeping, and the partial it sends encoded to JSON. Measured at start by running the
 * server's own streaming path (StreamSession, parseClientFrame, encodeServerMessage) in-process
 * on synthetic audio, with a stand-in decode result of one word piece per step in place of the
 * batch. The socket's own system calls are not in it: they happen outside this isolate's code.
 */
import { encodeServerMessage, parseClientFrame, type ServerMessage } from "../protocol/protocol.ts";
import { type StreamContext, StreamSession } from "./stream_session.ts";

export interface HostCostOptions {
  /** STEP_MS: the audio one step brings. */
  stepMs: number;
  /** Milliseconds of audio per WebSocket frame (the clients' usual 20). */
  frameMs: number;
  /** Untimed steps first: the stream fills its left context and the code paths warm up. */
  warmupSteps: number;
  /** Timed steps per run. */
  steps: number;
  /** Runs, each a fresh stream; the median per-step time is kept. */
  runs: number;
  /** The clock (ms), injectable for tests. */
  now?: () => number;
  /** Told of every message the streams sent (tests see that partials were made). */
  sent?: (message: ServerMessage) => void;
}

export const DEFAULT_HOST_COST: Omit<HostCostOptions, "stepMs"> = {
  frameMs: 20,
  warmupSteps: 20,
  steps: 40,
  runs: 5,
};

/** Median host milliseconds one stream's step costs on this isolate. */
export function measureHostCostPerStep(ctx: StreamContext, opts: HostCostOptions): number {
  if (!(opts.stepMs > 0 && opts.frameMs > 0 && opts.steps >= 1 && opts.runs >= 1)) {
    throw new RangeError("host cost needs stepMs, frameMs, steps and runs above zero");
  }
  const now = opts.now ?? (() => performance.now());
  const perStep: number[] = [];
  for (let r = 0; r < opts.runs; r++) {
    const stream = new SyntheticStream(ctx, opts.stepMs, opts.frameMs, opts.sent);
    for (let i = 0; i < opts.warmupSteps; i++) stream.step();
    const t0 = now();
    for (let i = 0; i < opts.steps; i++) stream.step();
    perStep.push((now() - t0) / opts.steps);
  }
  perStep.sort((a, b) => a - b);
  return perStep[Math.floor((perStep.length - 1) / 2)];
}

/** One stream fed real-time-sized frames of pseudo-random PCM16, its steps answered at once. */
class SyntheticStream {
  #session: StreamSession;
  #frames: Uint8Array[];
  #token: number;
  /** Bytes of JSON the session sent: kept so the encoding cannot be optimised away. */
  sentBytes = 0;

  constructor(
    ctx: StreamContext,
    stepMs: number,
    frameMs: number,
    sent: (message: ServerMessage) => void = () => {},
  ) {
    this.#session = new StreamSession(0, ctx, (m) => {
      this.sentBytes += encodeServerMessage(m).length;
      sent(m);
    }, { endpointMs: 0 });
    const rate = ctx.extractor.config.sampleRate;
    const frameBytes = 2 * Math.round(rate * frameMs / 1000);
    const count = Math.max(1, Math.round(stepMs / frameMs));
    let seed = 4242;
    this.#frames = Array.from({ length: count }, () => {
      const bytes = new Uint8Array(frameBytes);
      const view = new DataView(bytes.buffer);
      for (let i = 0; i < frameBytes; i += 2) {
        seed = (seed * 1103515245 + 12345) >>> 0;
        view.setInt16(i, ((seed >>> 16) & 0x1fff) - 0x1000, true);
      }
      return bytes;
    });
    // A word piece that is not the blank: the partial grows by one piece each step.
    this.#token = ctx.vocab.blankId === 1 ? 2 : 1;
  }

  /** One step: its frames parsed and received, then every ready chunk decoded and answered. */
  step(): void {
    const limits = { maxBinaryBytes: Infinity, maxTextBytes: Infinity };
    for (const frame of this.#frames) {
      const parsed = parseClientFrame(frame, limits);
      if (parsed.ok) this.#session.receive(parsed.message);
    }
    for (;;) {
      const work = this.#session.takeWork(1);
      if (!work) break;
      this.#session.completeWork(work, {
        tokens: [this.#token],
        frames: [0],
        durations: [1],
        state: work.work.state,
      });
    }
  }
}
