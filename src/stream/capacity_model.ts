/**
 * How many real-time streams a device holds, from what a batch of stream windows costs on it.
 * Pure: the cost table is measured elsewhere (engine/step_cost.ts at start, scaled by what
 * serving observes later).
 *
 * The model, and what it assumes:
 * - Every stream sends audio at real time, so in steady state each contributes one window per
 *   STEP_MS. Their phases are spread evenly (streams opened at different times), so while a
 *   cycle of length T runs, N·T/STEP_MS windows become ready; they make the next cycle.
 * - Each inference lane runs one batch at a time (ONNX Runtime already spreads one batch over
 *   the lane's CPU threads; a GPU session runs its batches in order), so MAX_INFLIGHT_STEPS > 1
 *   only overlaps host-side work and is not credited. With several lanes (`lanes`), the cost
 *   table is what a batch costs while every lane runs one, and each lane serves an equal share
 *   of the streams. More ready windows than MAX_BATCH are split into equal batches that run
 *   one after another.
 * - The cycle T(N) is the least fixed point of T = cost(N·T/STEP_MS windows), found by iterating
 *   from the cost of one window. None below STEP_MS means the backlog grows: not held.
 * - A window waits at most one cycle for the batch in progress, then runs in the next, so its
 *   latency is at most 2·T. Streams opened together share a phase instead: all N windows are
 *   ready at once and run in one cycle of cost(N). N is held when both stay within the latency
 *   target less a fixed allowance (`overheadMs`) for one window's own way in and its partial's
 *   way out, which no throughput figure contains.
 * - Measured costs are multiplied by 1 + `margin` first: the machine's other work and the
 *   spread of batch times on it come on top of a median. With no margin the model's answer sat
 *   at the ramp's cliff (the first load that missed, less one). With one lane, 10% kept it a
 *   stream or two below that. Several lanes on a CPU leave no core idle for the server's own
 *   work and its neighbours, which then take from the lanes directly: there 10% announced past
 *   the cliff (mid model: 33–34, where the ramp held 30–32 and 32 offered at once ran seconds
 *   late), and 20% keeps it below (`marginFor`). 25% cost a quarter of what one lane held.
 * - Each stream also costs host work per step outside its batch (`hostMsPerStep`: its frames
 *   parsed, its features, its bookkeeping, its partial encoded), all on the one main isolate.
 *   When inference takes every CPU core while a batch runs (a CPU device whose ONNX Runtime
 *   threads are at least the cores), that work cannot run beside it: each window of a cycle
 *   adds its stream's host time to the cycle. When inference leaves the main isolate a core
 *   (a GPU, or fewer ONNX Runtime threads than cores), host work overlaps the batches, and only
 *   the main isolate's own load bounds it: N·hostMsPerStep must fit in one STEP_MS.
 */

/** One measured batch size: its median wall-clock time and the encoder + decoder part of it. */
export interface BatchCost {
  batch: number;
  /** Median wall-clock milliseconds of the batch (the inference worker's round trip included). */
  ms: number;
  /** Median encoder plus decoder milliseconds (what the batch reports observe while serving). */
  computeMs: number;
}

export interface CapacityOptions {
  /** STEP_MS: each stream brings one window per step. */
  stepMs: number;
  /** The p95 partial latency to hold: STEP_MS + 100 ms. */
  targetMs: number;
  /** MAX_BATCH. */
  maxBatch: number;
  /** The most streams the answer may be. */
  hardCap: number;
  /** Latency allowance outside the cycle: a window's way in and its partial's way out, in ms. */
  overheadMs?: number;
  /** Measured costs are taken this much higher (0.25: 25%). */
  margin?: number;
  /** One stream's host-side work per step on the main isolate, in ms (0 when not measured). */
  hostMsPerStep?: number;
  /** Whether that work runs beside a batch (a core left free) rather than between batches. */
  hostOverlapsInference?: boolean;
  /**
   * Inference lanes (default 1): each runs one batch at a time, all at once, and the cost table
   * was measured with every lane busy. The ready windows are shared among them.
   */
  lanes?: number;
}

/** The latency allowance for a window's own way in and its partial's way out, when not told. */
export const DEFAULT_OVERHEAD_MS = 20;
/** Headroom on a measured median when not told. */
export const DEFAULT_MARGIN = 0.1;
/** Headroom on a measured median with several inference lanes (see the model above). */
export const LANES_MARGIN = 0.2;

/** The headroom for a device of `lanes` inference lanes. */
export function marginFor(lanes: number): number {
  return lanes > 1 ? LANES_MARGIN : DEFAULT_MARGIN;
}

/** Batch sizes worth measuring for MAX_BATCH: 1, 2, 4, 8, … and MAX_BATCH itself. */
export function batchSizesToMeasure(maxBatch: number): number[] {
  const sizes: number[] = [];
  for (let b = 1; b < maxBatch; b *= 2) sizes.push(b);
  sizes.push(maxBatch);
  return sizes;
}

/** Throws unless the table has at least one entry, sorted by batch size, all positive. */
export function checkCostTable(table: readonly BatchCost[]): void {
  if (table.length === 0) throw new RangeError("the step cost table is empty");
  for (let i = 0; i < table.length; i++) {
    const c = table[i];
    if (!(c.batch >= 1 && c.ms > 0 && c.computeMs >= 0)) {
      throw new RangeError(`step cost of batch ${c.batch}: ${c.ms} ms is not a measured cost`);
    }
    if (i > 0 && c.batch <= table[i - 1].batch) {
      throw new RangeError("the step cost table must be sorted by batch size, each size once");
    }
  }
}

/**
 * The cost of one batch of `windows` windows (a fraction allowed: a mean), interpolated
 * linearly between measured sizes; below the smallest it costs what the smallest does, above
 * the largest it grows along the last segment (proportionally when only one size was measured).
 */
export function batchCost(
  table: readonly BatchCost[],
  windows: number,
  field: "ms" | "computeMs" = "ms",
): number {
  const first = table[0];
  if (windows <= first.batch) return first[field];
  for (let i = 1; i < table.length; i++) {
    const hi = table[i];
    if (windows <= hi.batch) {
      const lo = table[i - 1];
      return lo[field] + (hi[field] - lo[field]) * (windows - lo.batch) / (hi.batch - lo.batch);
    }
  }
  const last = table[table.length - 1];
  if (table.length === 1) return last[field] * windows / last.batch;
  const prev = table[table.length - 2];
  const slope = Math.max(0, (last[field] - prev[field]) / (last.batch - prev.batch));
  return last[field] + slope * (windows - last.batch);
}

/** The time to run `windows` ready windows: equal batches of at most `maxBatch`, one after another. */
export function windowsCost(
  table: readonly BatchCost[],
  windows: number,
  maxBatch: number,
): number {
  const batches = Math.max(1, Math.ceil(windows / maxBatch - 1e-9));
  return batches * batchCost(table, Math.max(1, windows / batches));
}

/**
 * The steady cycle of `streams` evenly phased real-time streams, in ms, or null when none below
 * STEP_MS exists (the backlog grows without bound).
 */
export function steadyCycleMs(
  table: readonly BatchCost[],
  streams: number,
  opts: Pick<CapacityOptions, "stepMs" | "maxBatch">,
  hostMsPerWindow = 0,
): number | null {
  if (streams <= 0) return 0;
  const cost = (windows: number) =>
    windowsCost(table, windows, opts.maxBatch) + hostMsPerWindow * windows;
  // From below the least fixed point the iteration rises to it: the cost is increasing in T.
  let t = cost(1);
  for (let i = 0; i < 1000; i++) {
    if (t > opts.stepMs) return null;
    const next = cost(Math.max(1, streams * t / opts.stepMs));
    if (Math.abs(next - t) < 1e-3) return next > opts.stepMs ? null : next;
    t = next;
  }
  return null;
}

/**
 * The table made non-decreasing in batch size: a larger batch never costs less than a smaller
 * one, though a noisy median can say so, and the fixed-point search relies on it.
 */
export function monotoneCosts(table: readonly BatchCost[]): BatchCost[] {
  let ms = 0, computeMs = 0;
  return table.map((c) => {
    ms = Math.max(ms, c.ms);
    computeMs = Math.max(computeMs, c.computeMs);
    return { batch: c.batch, ms, computeMs };
  });
}

/** The cost table with every time multiplied by `factor`. */
export function scaleCosts(table: readonly BatchCost[], factor: number): BatchCost[] {
  return table.map((c) => ({ batch: c.batch, ms: c.ms * factor, computeMs: c.computeMs * factor }));
}

/** Whether `streams` real-time streams hold the latency target (the model above). */
export function holds(
  table: readonly BatchCost[],
  streams: number,
  opts: CapacityOptions,
): boolean {
  if (streams <= 0) return true;
  const scale = 1 + (opts.margin ?? DEFAULT_MARGIN);
  const costs = scaleCosts(monotoneCosts(table), scale);
  const room = opts.targetMs - (opts.overheadMs ?? DEFAULT_OVERHEAD_MS);
  const host = (opts.hostMsPerStep ?? 0) * scale;
  // Each lane cycles through its share of the streams' windows.
  const perLane = streams / (opts.lanes ?? 1);
  if (opts.hostOverlapsInference) {
    // The main isolate alone: its streams' host work must keep up with real time.
    if (streams * host >= opts.stepMs) return false;
    const cycle = steadyCycleMs(costs, perLane, opts);
    if (cycle === null || 2 * cycle + host > room) return false;
    return windowsCost(costs, perLane, opts.maxBatch) + streams * host <= room;
  }
  // The host work takes the lanes' cores from them: each lane's cycle carries its own streams'.
  const cycle = steadyCycleMs(costs, perLane, opts, host);
  if (cycle === null || 2 * cycle > room) return false;
  const together = windowsCost(costs, perLane, opts.maxBatch) + perLane * host;
  return together <= room;
}

/**
 * Whether a stream's host work runs beside a batch: inference on another device, or ONNX
 * Runtime given fewer threads (`ortThreads`, 0: one per core) than the machine has cores.
 */
export function hostOverlapsInference(
  device: "cpu" | "gpu",
  ortThreads: number,
  cores: number,
): boolean {
  if (device === "gpu") return true;
  const threads = ortThreads > 0 ? ortThreads : cores;
  return threads < cores;
}

/**
 * The most streams, from 0 to `hardCap`, that hold the target. Holding is monotone in the
 * number of streams (more streams never make a cycle shorter), so a bisection finds it.
 */
export function streamsHeld(table: readonly BatchCost[], opts: CapacityOptions): number {
  checkCostTable(table);
  if (!(opts.stepMs > 0 && opts.maxBatch >= 1 && opts.hardCap >= 0)) {
    throw new RangeError("stepMs and maxBatch must be positive, hardCap not negative");
  }
  if (opts.hardCap === 0 || !holds(table, 1, opts)) return 0;
  if (holds(table, opts.hardCap, opts)) return opts.hardCap;
  // Invariant: `lo` streams hold, `hi` do not.
  let lo = 1, hi = opts.hardCap;
  while (hi - lo > 1) {
    const mid = Math.floor((lo + hi) / 2);
    if (holds(table, mid, opts)) lo = mid;
    else hi = mid;
  }
  return lo;
}
