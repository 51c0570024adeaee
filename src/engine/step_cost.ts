/**
 * What a streaming step costs on this device: batches of synthetic stream windows of the
 * server's geometry, run through the engine like the warm-up batch, at several batch sizes and a
 * few times each after one untimed run (the median kept), in one or more passes over the sizes
 * (the faster pass kept per size). The capacity model (stream/capacity_model.ts) turns the table
 * into a number of streams.
 */
import type { TdtSpec } from "../decode/joiner.ts";
import { initialTdtState } from "../decode/tdt_state.ts";
import type { InferenceRequest, InferenceResult, RowPart } from "./inference_contract.ts";

/** Where a stream window's decoded frames are, in encoder frames. */
export interface StepShape {
  /** Feature frames of the window: left context + chunk + right context. */
  columns: number;
  /** The chunk's encoder frames within the window. */
  chunk: { offset: number; count: number };
  /** The right context's encoder frames, decoded speculatively (TENTATIVE=1), or null. */
  tentative: { offset: number; count: number } | null;
}

export interface MeasuredBatch {
  batch: number;
  /** Median wall-clock ms of one batch, the worker's round trip included. */
  ms: number;
  /** Median encoder + decoder ms (InferenceStats). */
  computeMs: number;
  encodeMs: number;
  decodeMs: number;
}

/**
 * `batch` windows of `shape`, each one stream's step decoded from a fresh state. The features
 * are a fixed pseudo-random pattern of normalised values, not silence: a silent window decodes
 * to blanks that skip ahead, and costs the decoder less than speech does.
 */
export function stepCostRequest(
  spec: TdtSpec,
  featuresSize: number,
  batch: number,
  shape: StepShape,
): InferenceRequest {
  if (!Number.isInteger(batch) || batch < 1) {
    throw new RangeError(`a step cost batch needs a positive whole size, got ${batch}`);
  }
  const features = new Float32Array(featuresSize * shape.columns);
  let seed = 12345;
  for (let i = 0; i < features.length; i++) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    features[i] = (seed / 0xffffffff) * 2 - 1;
  }
  const part = (window: number, p: { offset: number; count: number }): RowPart => ({
    window,
    encoderOffset: p.offset,
    encoderCount: p.count,
  });
  return {
    // A copy each: the engine hands every window's buffer over to its worker.
    windows: Array.from({ length: batch }, () => ({
      features: features.slice(),
      columns: shape.columns,
      valid: shape.columns,
    })),
    rows: Array.from({ length: batch }, (_, w) => ({
      parts: [part(w, shape.chunk)],
      state: initialTdtState(spec),
      tentative: shape.tentative ? part(w, shape.tentative) : undefined,
    })),
  };
}

export interface MeasureOptions {
  /** Batch sizes, increasing. */
  batches: readonly number[];
  /** Runs per size; the median is kept. */
  repetitions: number;
  /**
   * Passes over the sizes (default 1); per size the pass with the lower median is kept, and a
   * pass stops after the first size whose kept median passes `stopAboveMs`. A shared machine
   * has slow seconds: one that fell on a few sizes of a single pass made a start-up table
   * 35–60% high at batches 4 and 8, and the capacity announced a third low. A second pass over
   * the same sizes a few seconds later seldom meets the same second.
   */
  passes?: number;
  /**
   * A size whose median passes this many ms is the last measured: larger batches cannot be part
   * of a step that holds the latency target, and on a slow device they would take minutes.
   */
  stopAboveMs: number;
  /**
   * Batches run at once (the inference lanes): each repetition runs this many together and
   * times each, so the table holds what a batch costs while the other lanes run theirs.
   */
  concurrency?: number;
  /** The clock runs are timed by (tests give a device whose time they set). */
  now?: () => number;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

/** Measures the step cost table on `runner`; resolves to one entry per size measured. */
export async function measureStepCosts(
  runner: { run(request: InferenceRequest): Promise<InferenceResult> },
  spec: TdtSpec,
  featuresSize: number,
  shape: StepShape,
  opts: MeasureOptions,
): Promise<MeasuredBatch[]> {
  const now = opts.now ?? (() => performance.now());
  const concurrency = opts.concurrency ?? 1;
  const passes = opts.passes ?? 1;
  if (!(Number.isInteger(concurrency) && concurrency >= 1)) {
    throw new RangeError(`step costs need a whole concurrency ≥ 1, got ${concurrency}`);
  }
  if (!(Number.isInteger(passes) && passes >= 1)) {
    throw new RangeError(`step costs need a whole number of passes ≥ 1, got ${passes}`);
  }
  // Per size, the faster pass so far; a pass stops after the first size whose kept median is
  // past the slow limit, so a later pass may go further than a slowed one did.
  const best = new Map<number, MeasuredBatch>();
  for (let p = 0; p < passes; p++) {
    for (const batch of opts.batches) {
      const before = best.get(batch);
      const measured = await measureSize(runner, spec, featuresSize, shape, batch, {
        ...opts,
        now,
        concurrency,
        // A shape's first run pays for its allocations and kernel choice, once.
        untimedFirst: before === undefined,
      });
      const kept = before !== undefined && before.ms <= measured.ms ? before : measured;
      best.set(batch, kept);
      if (kept.ms > opts.stopAboveMs) break;
    }
  }
  return [...best.values()].sort((a, b) => a.batch - b.batch);
}

/** One size: an untimed run if asked, then `repetitions` timed ones; their medians. */
async function measureSize(
  runner: { run(request: InferenceRequest): Promise<InferenceResult> },
  spec: TdtSpec,
  featuresSize: number,
  shape: StepShape,
  batch: number,
  opts: MeasureOptions & { now: () => number; concurrency: number; untimedFirst: boolean },
): Promise<MeasuredBatch> {
  const { now, concurrency } = opts;
  const wall: number[] = [], enc: number[] = [], dec: number[] = [];
  const together = (timed: boolean) =>
    Promise.all(Array.from({ length: concurrency }, async () => {
      const request = stepCostRequest(spec, featuresSize, batch, shape);
      const t0 = now();
      const { stats } = await runner.run(request);
      if (!timed) return;
      wall.push(now() - t0);
      enc.push(stats.encodeMs);
      dec.push(stats.decodeMs);
    }));
  if (opts.untimedFirst) await together(false);
  for (let r = 0; r < opts.repetitions; r++) await together(true);
  return {
    batch,
    ms: median(wall),
    computeMs: median(enc.map((e, i) => e + dec[i])),
    encodeMs: median(enc),
    decodeMs: median(dec),
  };
}
