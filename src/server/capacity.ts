/**
 * The number of WebSocket streams admitted at once. MAX_STREAMS=N fixes it; MAX_STREAMS=auto
 * derives it from the step costs measured at start (engine/step_cost.ts) through the capacity
 * model (stream/capacity_model.ts), and derives it again when the costs seen while serving
 * drift from the measured ones (stream/capacity_drift.ts). A new figure only changes who is
 * admitted next: streams already open are never cut.
 */
import { DEFAULT_DRIFT, type DriftOptions, DriftWatch } from "../stream/capacity_drift.ts";
import {
  type BatchCost,
  batchCost,
  type CapacityOptions,
  hostOverlapsInference,
  marginFor,
  scaleCosts,
  streamsHeld,
} from "../stream/capacity_model.ts";

/** The p95 partial latency MAX_STREAMS=auto holds: this much over STEP_MS. */
export const LATENCY_SLACK_MS = 100;
/** MAX_STREAMS=auto never admits more than this (nor more than the connection cap). */
export const AUTO_MAX_STREAMS = 1024;
/** Seconds a client refused for capacity is told to wait (Retry-After). */
export const CAPACITY_RETRY_AFTER_S = 5;

/** The step costs measured at start, per batch size, with the encoder and decoder parts. */
export interface MeasuredCosts {
  table: (BatchCost & { encodeMs: number; decodeMs: number })[];
  /** When they were measured (ms since the epoch). */
  at: number;
  /** One stream's host-side work per step, measured at start (stream/host_cost.ts). */
  host?: HostCost;
  /** Inference lanes, each running one batch at a time; the table is per lane (default 1). */
  lanes?: number;
}

/** A stream's host work per step, and whether it runs beside inference or between batches. */
export interface HostCost {
  msPerStep: number;
  /** Its parts: the streaming code (features, bookkeeping, partials) and the WebSocket. */
  sessionMs: number;
  socketMs: number;
  /** CPU cores the host sees (navigator.hardwareConcurrency). */
  cores: number;
  /** ONNX Runtime intra-op threads of every inference lane together (0 is one per core). */
  ortThreads: number;
  /** Where inference runs: the CPU cores the host work also needs, or a GPU. */
  device: "cpu" | "gpu";
}

export interface CapacityStatus {
  streams: number;
  source: "measured" | "configured";
  /** ISO time of the measurement, or of the last recomputation from serving costs. */
  measured_at: string | null;
  /** The latency the figure is for: STEP_MS + 100. */
  target_p95_ms: number | null;
  /** Median ms per batch size (batch size as the key), as measured at start. */
  step_cost_ms: Record<string, { total: number; encoder: number; decoder: number }> | null;
  /** One stream's host work per step (ms), and whether it overlaps inference (null: not measured). */
  host_ms_per_step: { total: number; stream: number; socket: number } | null;
  host_overlaps_inference: boolean | null;
  /** Serving cost over the measured cost: 1 is as measured (null: not tracked). */
  drift_ratio: number | null;
  /** Recomputations since start. */
  recomputed: number;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
const round2 = (x: number) => Math.round(x * 100) / 100;

export class StreamCapacity {
  #streams: number;
  #measured: MeasuredCosts | null;
  #model: CapacityOptions | null;
  #table: BatchCost[] | null;
  #drift: DriftWatch | null;
  #at: number | null;
  #recomputed = 0;
  #log: (line: string) => void;
  #now: () => number;

  private constructor(
    streams: number,
    measured: MeasuredCosts | null,
    model: CapacityOptions | null,
    log: (line: string) => void,
    drift: DriftOptions,
    clock: { now: () => number; monotonic: () => number },
  ) {
    this.#streams = streams;
    this.#measured = measured;
    this.#model = model;
    this.#table = measured
      ? measured.table.map(({ batch, ms, computeMs }) => ({ batch, ms, computeMs }))
      : null;
    this.#at = measured?.at ?? null;
    this.#log = log;
    this.#now = clock.now;
    const table = this.#table;
    this.#drift = table
      ? new DriftWatch((w) => batchCost(table, w, "computeMs"), drift, clock.monotonic)
      : null;
  }

  /** MAX_STREAMS=N. */
  static configured(streams: number): StreamCapacity {
    return new StreamCapacity(streams, null, null, () => {}, DEFAULT_DRIFT, {
      now: Date.now,
      monotonic: () => performance.now(),
    });
  }

  /**
   * MAX_STREAMS=auto: the streams `costs` hold at STEP_MS + 100 ms, from 1 (a server that
   * admits nobody serves nobody; the log says when even one stream misses the target) to
   * `hardCap`.
   */
  static measured(
    costs: MeasuredCosts,
    knobs: { stepMs: number; maxBatch: number; hardCap: number },
    log: (line: string) => void,
    opts: {
      drift?: DriftOptions;
      now?: () => number;
      monotonic?: () => number;
    } = {},
  ): StreamCapacity {
    const model: CapacityOptions = {
      stepMs: knobs.stepMs,
      targetMs: knobs.stepMs + LATENCY_SLACK_MS,
      maxBatch: knobs.maxBatch,
      hardCap: Math.max(1, knobs.hardCap),
      lanes: costs.lanes ?? 1,
      margin: marginFor(costs.lanes ?? 1),
      ...(costs.host
        ? {
          hostMsPerStep: costs.host.msPerStep,
          hostOverlapsInference: hostOverlapsInference(
            costs.host.device,
            costs.host.ortThreads,
            costs.host.cores,
          ),
        }
        : {}),
    };
    const held = streamsHeld(costs.table, model);
    if (held === 0) {
      log(
        `capacity: not even one stream holds p95 partial latency ≤ ${model.targetMs} ms at these knobs on this device (one window: ${
          round1(costs.table[0].ms)
        } ms); admitting 1. Raise STEP_MS, lower LEFT_CONTEXT_MS, or use PRECISION=int8 or a GPU`,
      );
    }
    return new StreamCapacity(Math.max(1, held), costs, model, log, opts.drift ?? DEFAULT_DRIFT, {
      now: opts.now ?? Date.now,
      monotonic: opts.monotonic ?? (() => performance.now()),
    });
  }

  /** Streams admitted at once now. */
  get streams(): number {
    return this.#streams;
  }

  get source(): "measured" | "configured" {
    return this.#measured ? "measured" : "configured";
  }

  /**
   * One batch of `windows` stream windows took `computeMs` of encoder and decoder time. When the
   * costs have drifted, the capacity is recomputed from the measured table scaled by the drift.
   */
  observeBatch(windows: number, computeMs: number): void {
    if (!this.#drift || !this.#table || !this.#model) return;
    const ratio = this.#drift.observe(windows, computeMs);
    if (ratio === null) return;
    const table = scaleCosts(this.#table, ratio);
    const before = this.#streams;
    this.#streams = Math.max(1, streamsHeld(table, this.#model));
    this.#table = table;
    this.#at = this.#now();
    this.#recomputed++;
    this.#drift.rebase((w) => batchCost(table, w, "computeMs"));
    this.#log(
      `capacity: steps cost ${
        round1(ratio)
      }× what was last measured; capacity ${before} → ${this.#streams} streams (open streams are kept)`,
    );
  }

  status(): CapacityStatus {
    const m = this.#measured;
    return {
      streams: this.#streams,
      source: this.source,
      measured_at: this.#at === null ? null : new Date(this.#at).toISOString(),
      target_p95_ms: this.#model?.targetMs ?? null,
      step_cost_ms: m
        ? Object.fromEntries(m.table.map((c) => [String(c.batch), {
          total: round1(c.ms),
          encoder: round1(c.encodeMs),
          decoder: round1(c.decodeMs),
        }]))
        : null,
      host_ms_per_step: m?.host
        ? {
          total: round2(m.host.msPerStep),
          stream: round2(m.host.sessionMs),
          socket: round2(m.host.socketMs),
        }
        : null,
      host_overlaps_inference: this.#model?.hostOverlapsInference ?? (m?.host ? false : null),
      drift_ratio: this.#drift ? Math.round(this.#drift.ratio * 100) / 100 : null,
      recomputed: this.#recomputed,
    };
  }
}
