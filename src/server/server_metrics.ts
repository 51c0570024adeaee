/**
 * The server's counters, gauges and histograms: registered from METRIC_DECLARATIONS, fed from
 * the scheduler's batch reports, the sessions' step reports, refusals, and the connections'
 * errors and closes. The one record of what happened: `/metrics` writes it out and
 * `/v1/status` reads its counters.
 */
import { getHeapSpaceStatistics } from "node:v8";
import {
  type Counter,
  type Gauge,
  type GaugeReader,
  type Histogram,
  type LabelValues,
  MetricRegistry,
} from "../format/prometheus.ts";
import type { BatchReport } from "../stream/batch_scheduler.ts";
import type { StepReport, StreamObserver } from "../stream/stream_session.ts";
import { VERSION } from "../version.ts";
import {
  METRIC_DECLARATIONS,
  metricDeclaration,
  RTF_WINDOW_MS,
  type StepSource,
} from "./metric_declarations.ts";
import { SlidingSum } from "./sliding_sum.ts";

export { METRICS_CONTENT_TYPE } from "../format/prometheus.ts";
export { RTF_WINDOW_MS, type StepSource } from "./metric_declarations.ts";

export interface ModelInfo {
  /** The model directory; only its last path component is exported. */
  dir: string;
  device: string;
  precision: string;
  ortVersion: string;
}

export interface LiveGauges {
  /** TCP connections open now, HTTP and WebSocket (absent: not shown). */
  openConnections?(): number;
  openStreams(): number;
  openUploads(): number;
  inflightBatches(): number;
  /** WebSocket streams admitted at once (absent: not shown). */
  capacityStreams?(): number;
}

/** Fields of Deno.memoryUsage() behind the memory gauges, read at scrape time. */
const MEMORY_FIELDS: Readonly<Record<string, keyof Deno.MemoryUsage>> = {
  process_resident_memory_bytes: "rss",
  parakeet_main_heap_used_bytes: "heapUsed",
  parakeet_main_heap_total_bytes: "heapTotal",
  parakeet_main_external_bytes: "external",
};

/** Everything `/metrics` shows. */
export class ServerMetrics {
  readonly registry = new MetricRegistry();
  readonly streamsTotal: Counter;
  readonly refused: Counter;
  readonly connectionDrops: Counter;
  readonly steps: Counter;
  readonly chunks: Counter;
  readonly batches: Counter;
  readonly batchFailures: Counter;
  readonly workerRestarts: Counter;
  readonly batchWindows: Histogram;
  readonly batchStreams: Histogram;
  readonly encoderSeconds: Histogram;
  readonly decoderSeconds: Histogram;
  readonly encoderCalls: Counter;
  readonly jointCalls: Counter;
  readonly inferenceSeconds: Counter;
  readonly stepLatency: Histogram;
  readonly audioSeconds: Counter;
  readonly tokens: Counter;
  readonly errors: Counter;
  readonly closes: Counter;
  readonly droppedPartials: Counter;
  /** Inference and audio seconds of the last RTF_WINDOW_MS. */
  #recentInference: SlidingSum;
  #recentAudio: SlidingSum;
  #families = new Map<string, Counter | Gauge | Histogram>();

  constructor(model: ModelInfo, live: LiveGauges, now: () => number = () => performance.now()) {
    this.#recentInference = new SlidingSum(RTF_WINDOW_MS, now);
    this.#recentAudio = new SlidingSum(RTF_WINDOW_MS, now);
    const readers: Record<string, GaugeReader | undefined> = {
      parakeet_open_streams: live.openStreams,
      parakeet_open_uploads: live.openUploads,
      parakeet_inflight_batches: live.inflightBatches,
      parakeet_capacity_streams: live.capacityStreams,
      parakeet_open_connections: live.openConnections,
      parakeet_real_time_factor: () => this.realTimeFactor(),
      parakeet_main_heap_space_bytes: () =>
        getHeapSpaceStatistics().filter((s) => s.space_size > 0)
          .map((s) => [{ space: s.space_name }, s.space_size]),
    };
    for (const [name, field] of Object.entries(MEMORY_FIELDS)) {
      readers[name] = () => Deno.memoryUsage()[field];
    }
    this.#register(readers);
    this.#gauge("parakeet_model_info").set(1, {
      model: model.dir.replace(/\/+$/, "").split("/").pop() || model.dir,
      device: model.device,
      precision: model.precision,
      ort_version: model.ortVersion,
    });
    this.#gauge("parakeet_build_info").set(1, { version: VERSION });
    this.#gauge("process_start_time_seconds")
      .set(Math.round(Date.now() / 1000 - performance.now() / 1000));
    this.streamsTotal = this.#counter("parakeet_streams_total");
    this.refused = this.#counter("parakeet_refused_total");
    this.connectionDrops = this.#counter("parakeet_connection_drops_total");
    this.steps = this.#counter("parakeet_steps_total");
    this.chunks = this.#counter("parakeet_chunks_total");
    this.batches = this.#counter("parakeet_batches_total");
    this.batchFailures = this.#counter("parakeet_batch_failures_total");
    this.workerRestarts = this.#counter("parakeet_worker_restarts_total");
    this.batchWindows = this.#histogram("parakeet_batch_windows");
    this.batchStreams = this.#histogram("parakeet_batch_streams");
    this.encoderSeconds = this.#histogram("parakeet_encoder_seconds");
    this.decoderSeconds = this.#histogram("parakeet_decoder_seconds");
    this.encoderCalls = this.#counter("parakeet_encoder_calls_total");
    this.jointCalls = this.#counter("parakeet_joint_calls_total");
    this.inferenceSeconds = this.#counter("parakeet_inference_seconds_total");
    this.stepLatency = this.#histogram("parakeet_step_latency_seconds");
    this.audioSeconds = this.#counter("parakeet_audio_seconds_total");
    this.tokens = this.#counter("parakeet_tokens_total");
    this.errors = this.#counter("parakeet_errors_total");
    this.closes = this.#counter("parakeet_ws_closes_total");
    this.droppedPartials = this.#counter("parakeet_dropped_partials_total");
  }

  /**
   * Every declared family, in declaration order. A gauge with a reader is read at scrape time;
   * the connections gauge is left out when nobody can tell how many there are.
   */
  #register(readers: Record<string, GaugeReader | undefined>): void {
    const r = this.registry;
    for (const d of METRIC_DECLARATIONS) {
      const labelNames = d.labels.map((l) => l.name);
      if (d.type === "histogram") {
        this.#families.set(d.name, r.histogram(d.name, d.help, d.buckets ?? [], labelNames));
      } else if (d.type === "counter") {
        const allowed: LabelValues | undefined = d.enforced
          ? Object.fromEntries(
            d.labels.map((l) => [l.name, Array.isArray(l.values) ? l.values : []]),
          )
          : undefined;
        this.#families.set(d.name, r.counter(d.name, d.help, labelNames, allowed));
      } else {
        if (d.name in readers && !readers[d.name]) continue;
        this.#families.set(d.name, r.gauge(d.name, d.help, labelNames, readers[d.name]));
      }
    }
  }

  #family(name: string, type: string) {
    const family = this.#families.get(name);
    if (!family || metricDeclaration(name).type !== type) {
      throw new RangeError(`metric ${name} is not a registered ${type}`);
    }
    return family;
  }

  #counter(name: string): Counter {
    return this.#family(name, "counter") as Counter;
  }

  #gauge(name: string): Gauge {
    return this.#family(name, "gauge") as Gauge;
  }

  #histogram(name: string): Histogram {
    return this.#family(name, "histogram") as Histogram;
  }

  /** The scheduler's report of one batch. */
  batchDone(report: BatchReport): void {
    this.batches.inc();
    this.batchWindows.observe(report.windows);
    this.batchStreams.observe(report.streams);
    if (report.error || !report.result) {
      this.batchFailures.inc();
      return;
    }
    const s = report.result.stats;
    this.encoderSeconds.observe(s.encodeMs / 1000);
    this.decoderSeconds.observe(s.decodeMs / 1000);
    this.encoderCalls.inc(s.encoderCalls);
    this.jointCalls.inc(s.jointCalls);
    const seconds = (s.encodeMs + s.decodeMs) / 1000;
    this.inferenceSeconds.inc(seconds);
    this.#recentInference.add(seconds);
  }

  /** An observer for the sessions of one source (set as `StreamContext.observer`). */
  observer(source: StepSource): StreamObserver {
    return {
      stepDone: (r: StepReport) => {
        const labels = { source };
        this.steps.inc(1, labels);
        this.chunks.inc(r.chunks, labels);
        this.stepLatency.observe(r.latencyMs / 1000, labels);
        this.audioSeconds.inc(r.audioSeconds, labels);
        this.tokens.inc(r.tokens, labels);
        this.#recentAudio.add(r.audioSeconds);
      },
    };
  }

  realTimeFactor(): number {
    const audio = this.#recentAudio.total();
    return audio > 0 ? this.#recentInference.total() / audio : 0;
  }

  render(): string {
    return this.registry.render();
  }
}

/**
 * A closed-label counter's non-zero series, keyed by the label's value in declaration order
 * (what `/v1/status` shows: only what happened).
 */
export function countsByLabel(counter: Counter): Record<string, number> {
  const [label] = metricDeclaration(counter.name).labels;
  const out: Record<string, number> = {};
  if (!label || !Array.isArray(label.values)) return out;
  for (const value of label.values as readonly string[]) {
    const n = counter.get({ [label.name]: value });
    if (n > 0) out[value] = n;
  }
  return out;
}

/** Both observers told of every step (a context may already carry one). */
export function chainObservers(
  a: StreamObserver | undefined,
  b: StreamObserver,
): StreamObserver {
  if (!a) return b;
  return {
    stepDone: (r) => {
      a.stepDone(r);
      b.stepDone(r);
    },
  };
}
