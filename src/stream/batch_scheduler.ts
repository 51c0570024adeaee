import type {
  InferenceRequest,
  InferenceResult,
  InferenceRow,
  InferenceWindow,
} from "../engine/inference_contract.ts";
import type { SessionWork, StreamSession } from "./stream_session.ts";

export interface BatchRunner {
  run(request: InferenceRequest): Promise<InferenceResult>;
}

export interface SchedulerOptions {
  /** Windows (encoder rows) per batch. */
  maxBatch: number;
  /** Batches running at once. */
  maxInflight: number;
  /**
   * Inference lanes running batches side by side (default 1). With more than one, the work
   * ready when several lanes are idle is split among them (`laneShare`) instead of riding in one
   * batch on one lane while the others wait.
   */
  lanes?: number;
}

/**
 * The fewest windows a split gives each idle lane. Smaller work stays whole: a batch of one or
 * two windows costs 7–20% more a window than one of four (the mid model's step costs on a CPU),
 * and runs soon anyway. With every pair split, the decoder's time a window served in the share
 * benchmark rose from 0.5–0.8 ms to 0.7–1.2 ms.
 */
export const MIN_LANE_SHARE = 4;

/**
 * The most windows one batch may take when `ready` windows wait and `idleLanes` lanes have
 * nothing to run: an equal share for each idle lane, once each gets `MIN_LANE_SHARE`. A stream
 * rides in one batch at a time, so the streams of one batch come back together and, taken
 * together again by the first lane free, would keep every stream on one lane while the others
 * wait for stragglers. Split when they come back to idle lanes, they stay split. A lane that
 * frees while the others are busy takes everything ready: what it left would wait for a whole
 * batch.
 */
export function laneShare(ready: number, idleLanes: number, maxBatch: number): number {
  return Math.max(1, Math.min(maxBatch, Math.ceil(ready / splitLanes(ready, idleLanes))));
}

/** How many idle lanes the `ready` windows are split among: those that get MIN_LANE_SHARE. */
export function splitLanes(ready: number, idleLanes: number): number {
  return Math.max(1, Math.min(idleLanes, Math.floor(ready / MIN_LANE_SHARE)));
}

export interface BatchReport {
  streams: number;
  windows: number;
  result?: InferenceResult;
  error?: Error;
}

/**
 * Continuous batching across streams: whenever fewer than `maxInflight` batches run, the ready
 * chunks of all streams are gathered into one batch of at most `maxBatch` windows (work ready
 * for several idle lanes is split among them: `laneShare`). Fair: every stream with work gets
 * one chunk before any gets a second, and the round-robin starts where the last batch stopped,
 * so no stream starves when more are ready than a batch holds. A stream with a backlog
 * contributes several consecutive chunks (one row), draining it faster.
 */
export class BatchScheduler {
  #runner: BatchRunner;
  #opts: SchedulerOptions;
  #sessions: StreamSession[] = [];
  #cursor = 0;
  #inflight = 0;
  #idleWaiters: (() => void)[] = [];
  /**
   * Called when a batch fails, for the log; each of its sessions hears of it itself
   * (`StreamSession.onBatchFailed`) and its owner ends it.
   */
  onBatchFailed: (sessions: StreamSession[], error: Error) => void = () => {};
  /** Called after every batch, for metrics and logs. */
  onBatch: (report: BatchReport) => void = () => {};

  constructor(runner: BatchRunner, opts: SchedulerOptions) {
    if (!(opts.maxBatch >= 1 && opts.maxInflight >= 1 && (opts.lanes ?? 1) >= 1)) {
      throw new RangeError(`maxBatch, maxInflight and lanes must be ≥ 1`);
    }
    this.#runner = runner;
    this.#opts = opts;
  }

  get inflight(): number {
    return this.#inflight;
  }

  get streams(): number {
    return this.#sessions.length;
  }

  add(session: StreamSession): void {
    this.#sessions.push(session);
  }

  remove(session: StreamSession): void {
    const i = this.#sessions.indexOf(session);
    if (i < 0) return;
    this.#sessions.splice(i, 1);
    if (i < this.#cursor) this.#cursor--;
  }

  /** Something may be ready: start batches while there is room. */
  wake(): void {
    while (this.#inflight < this.#opts.maxInflight) {
      const taken = this.#collect();
      if (taken.length === 0) break;
      this.#launch(taken);
    }
    if (this.#inflight === 0) {
      for (const resolve of this.#idleWaiters.splice(0)) resolve();
    }
  }

  /** Resolves when no batch is running and none can start. */
  idle(): Promise<void> {
    if (this.#inflight === 0) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  #collect(): SessionWork[] {
    const n = this.#sessions.length;
    if (n === 0) return [];
    const maxBatch = this.#opts.maxBatch;
    // Ready chunks per stream, in round-robin order from the cursor. Background streams
    // (uploads) only get batches that no live stream needs.
    const order: { session: StreamSession; ready: number; share: number }[] = [];
    const background: typeof order = [];
    let readyWindows = 0;
    for (let k = 0; k < n; k++) {
      const session = this.#sessions[(this.#cursor + k) % n];
      const ready = session.readyChunks(maxBatch);
      if (ready > 0) {
        (session.background ? background : order).push({ session, ready, share: 0 });
        if (!session.background) readyWindows += ready;
      }
    }
    // One background chunk per batch: its window may be long, and live streams come next.
    if (order.length === 0 && background.length > 0) order.push({ ...background[0], ready: 1 });
    if (order.length === 0) return [];
    // The pool gives each batch the lane with the fewest running, so while fewer batches run
    // than there are lanes, the others are idle.
    const idleLanes = (this.#opts.lanes ?? 1) - this.#inflight;
    const capacity = laneShare(readyWindows, idleLanes, maxBatch);
    // A split shares out the streams as well as the windows. Streams behind by several chunks
    // would otherwise all ride in the first batch (one chunk each comes first), leave nothing
    // for the other idle lanes, and come back together to do it again: one lane serving every
    // stream, the others idle, the backlog growing.
    const candidates = order.slice(
      0,
      Math.ceil(order.length / splitLanes(readyWindows, idleLanes)),
    );
    // Water-filling: one chunk each in turn until the batch is full or nobody has more.
    let used = 0;
    for (let pass = 0; used < capacity; pass++) {
      let gave = false;
      for (const o of candidates) {
        if (used >= capacity) break;
        if (o.share < o.ready) {
          o.share++;
          used++;
          gave = true;
        }
      }
      if (!gave) break;
    }
    const taken: SessionWork[] = [];
    let lastServed = -1;
    for (const o of order) {
      if (o.share === 0) continue;
      const w = o.session.takeWork(o.share);
      if (w) {
        taken.push(w);
        lastServed = this.#sessions.indexOf(o.session);
      }
    }
    if (lastServed >= 0) this.#cursor = (lastServed + 1) % n;
    return taken;
  }

  #launch(taken: SessionWork[]): void {
    const windows: InferenceWindow[] = [];
    const rows: InferenceRow[] = taken.map((w) => {
      const base = windows.length;
      windows.push(...w.work.windows);
      const t = w.work.tentative;
      return {
        parts: w.work.parts.map((p) => ({ ...p, window: p.window + base })),
        state: w.work.state,
        tentative: t ? { ...t, window: t.window + base } : undefined,
        tag: w.session.id,
      };
    });
    this.#inflight++;
    this.#runner.run({ windows, rows }).then(
      (result) => {
        taken.forEach((w, i) => w.session.completeWork(w, result.rows[i], result.tentative?.[i]));
        this.onBatch({ streams: taken.length, windows: windows.length, result });
      },
      (error: Error) => {
        this.onBatch({ streams: taken.length, windows: windows.length, error });
        this.onBatchFailed(taken.map((w) => w.session), error);
        for (const w of taken) w.session.failWork(w, error);
      },
    ).finally(() => {
      this.#inflight--;
      this.wake();
    });
  }
}
