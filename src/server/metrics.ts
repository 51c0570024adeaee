/**
 * Prometheus metrics, written out in the text exposition format (version 0.0.4) by hand: the
 * format is small, and the serving path takes no npm package. `MetricRegistry` knows the format
 * (HELP/TYPE lines, label escaping, cumulative histogram buckets); `ServerMetrics` knows what
 * the server measures and where each number comes from.
 */
import { getHeapSpaceStatistics } from "node:v8";
import type { BatchReport } from "../stream/batch_scheduler.ts";
import type { StepReport, StreamObserver } from "../stream/stream_session.ts";
import { VERSION } from "../version.ts";
import { DROP_REASONS } from "../net/drop_reasons.ts";
import { REFUSAL_REASONS } from "./refusals.ts";
import { CLOSE_CODE_LABELS, OTHER_CLOSE_CODE, WIRE_ERRORS } from "../protocol/wire_errors.ts";

export const METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

type Labels = Readonly<Record<string, string>>;

const NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

/** Label values escape `\`, `"` and newline; nothing else (the format says exactly these). */
export function escapeLabelValue(value: string): string {
  return value.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");
}

/** HELP text escapes `\` and newline only. */
function escapeHelp(text: string): string {
  return text.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
}

/** Go's ParseFloat spellings for the special values; JS's own for the rest (e.g. 1e+21). */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}

function labelText(names: readonly string[], values: readonly string[]): string {
  if (names.length === 0) return "";
  return "{" + names.map((n, i) => `${n}="${escapeLabelValue(values[i])}"`).join(",") + "}";
}

abstract class Family {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: "counter" | "gauge" | "histogram";

  constructor(name: string, help: string, labelNames: readonly string[]) {
    if (!NAME.test(name)) throw new RangeError(`invalid metric name "${name}"`);
    for (const l of labelNames) {
      if (!LABEL_NAME.test(l) || l.startsWith("__") || l === "le") {
        throw new RangeError(`invalid label name "${l}" on metric ${name}`);
      }
    }
    this.name = name;
    this.help = help;
    this.labelNames = labelNames;
  }

  /** The label values in declaration order; every declared label must be given, no other. */
  protected key(labels: Labels): string[] {
    const given = Object.keys(labels);
    if (
      given.length !== this.labelNames.length || given.some((g) => !this.labelNames.includes(g))
    ) {
      throw new RangeError(
        `metric ${this.name} takes labels {${this.labelNames.join(",")}}, got {${given.join(",")}}`,
      );
    }
    return this.labelNames.map((n) => labels[n]);
  }

  header(): string {
    return `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
  }

  abstract samples(): string;
}

/**
 * The only values a label may take. A label fed from anything a client sends (a close code, a
 * reason) must have one, so no client can add series; values outside it are a bug and throw.
 */
export type LabelValues = Readonly<Record<string, readonly string[]>>;

/** A value per label set; `Counter` only goes up, `Gauge` is set. */
class Scalar extends Family {
  readonly type: "counter" | "gauge";
  #values = new Map<string, { labels: string[]; value: number }>();
  /** A gauge read at scrape time instead of set (e.g. open streams); labelled, a value per label
   * set. */
  #read?: GaugeReader;
  #allowed?: LabelValues;

  constructor(
    type: "counter" | "gauge",
    name: string,
    help: string,
    labelNames: readonly string[],
    read?: GaugeReader,
    allowed?: LabelValues,
  ) {
    super(name, help, labelNames);
    this.type = type;
    this.#read = read;
    this.#allowed = allowed;
    // An unlabelled series exists from the start: a counter at 0 is information, a gap is not.
    if (labelNames.length === 0 && !read) this.#slot({});
    // So does every series of a single closed label.
    if (labelNames.length === 1 && allowed?.[labelNames[0]]) {
      for (const v of allowed[labelNames[0]]) this.#slot({ [labelNames[0]]: v });
    }
  }

  #slot(labels: Labels) {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let slot = this.#values.get(k);
    if (!slot) {
      this.labelNames.forEach((n, i) => {
        const allowed = this.#allowed?.[n];
        if (allowed && !allowed.includes(values[i])) {
          throw new RangeError(
            `metric ${this.name}: label ${n} cannot be "${values[i]}" (one of ${
              allowed.join(", ")
            })`,
          );
        }
      });
      this.#values.set(k, slot = { labels: values, value: 0 });
    }
    return slot;
  }

  inc(by = 1, labels: Labels = {}): void {
    if (!(by >= 0)) throw new RangeError(`counter ${this.name} cannot go up by ${by}`);
    this.#slot(labels).value += by;
  }

  set(value: number, labels: Labels = {}): void {
    if (this.type === "counter") throw new TypeError(`counter ${this.name} cannot be set`);
    this.#slot(labels).value = value;
  }

  get(labels: Labels = {}): number {
    return this.#values.get(JSON.stringify(this.key(labels)))?.value ?? 0;
  }

  samples(): string {
    const read = this.#read?.();
    if (typeof read === "number") return `${this.name} ${formatValue(read)}\n`;
    const series = read?.map(([labels, value]) => ({ labels: this.key(labels), value })) ??
      this.#values.values();
    let out = "";
    for (const { labels, value } of series) {
      out += `${this.name}${labelText(this.labelNames, labels)} ${formatValue(value)}\n`;
    }
    return out;
  }
}

/** An unlabelled gauge's value, or a labelled gauge's value per label set. */
export type GaugeReader = () => number | [Labels, number][];

export type Counter = Scalar;
export type Gauge = Scalar;

export class Histogram extends Family {
  readonly type = "histogram";
  readonly buckets: readonly number[];
  #series = new Map<string, { labels: string[]; counts: number[]; sum: number; count: number }>();

  constructor(name: string, help: string, buckets: readonly number[], labelNames: string[] = []) {
    super(name, help, labelNames);
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) {
        throw new RangeError(`histogram ${name}: buckets must increase, got ${buckets}`);
      }
    }
    this.buckets = buckets.filter((b) => b !== Infinity);
    if (labelNames.length === 0) this.#seriesFor({});
  }

  #seriesFor(labels: Labels) {
    const values = this.key(labels);
    const k = JSON.stringify(values);
    let s = this.#series.get(k);
    if (!s) {
      s = { labels: values, counts: this.buckets.map(() => 0), sum: 0, count: 0 };
      this.#series.set(k, s);
    }
    return s;
  }

  observe(value: number, labels: Labels = {}): void {
    const s = this.#seriesFor(labels);
    // Counts per bucket are stored non-cumulatively and summed when written out.
    const i = this.buckets.findIndex((b) => value <= b);
    if (i >= 0) s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  samples(): string {
    let out = "";
    const names = [...this.labelNames, "le"];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.buckets.forEach((b, i) => {
        cumulative += s.counts[i];
        out += `${this.name}_bucket${
          labelText(names, [...s.labels, formatValue(b)])
        } ${cumulative}\n`;
      });
      out += `${this.name}_bucket${labelText(names, [...s.labels, "+Inf"])} ${s.count}\n`;
      const plain = labelText(this.labelNames, s.labels);
      out += `${this.name}_sum${plain} ${formatValue(s.sum)}\n`;
      out += `${this.name}_count${plain} ${s.count}\n`;
    }
    return out;
  }
}

/** Families in registration order; one name once. */
export class MetricRegistry {
  #families: Family[] = [];

  #add<F extends Family>(f: F): F {
    if (this.#families.some((x) => x.name === f.name)) {
      throw new RangeError(`metric ${f.name} registered twice`);
    }
    this.#families.push(f);
    return f;
  }

  counter(name: string, help: string, labelNames: string[] = [], allowed?: LabelValues): Counter {
    return this.#add(new Scalar("counter", name, help, labelNames, undefined, allowed));
  }

  gauge(name: string, help: string, labelNames: string[] = [], read?: GaugeReader): Gauge {
    return this.#add(new Scalar("gauge", name, help, labelNames, read));
  }

  histogram(name: string, help: string, buckets: readonly number[], labelNames: string[] = []) {
    return this.#add(new Histogram(name, help, buckets, labelNames));
  }

  render(): string {
    return this.#families.map((f) => f.header() + f.samples()).join("");
  }
}

/** Seconds, for the per-batch encoder and decoder times and the step latency. */
const TIME_BUCKETS = [
  0.001,
  0.0025,
  0.005,
  0.01,
  0.025,
  0.05,
  0.1,
  0.25,
  0.5,
  1,
  2.5,
  5,
  10,
  30,
];
const LATENCY_BUCKETS = [0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10];
const SIZE_BUCKETS = [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024];

/** How far back the real-time factor gauge looks. */
export const RTF_WINDOW_MS = 60_000;

export interface ModelInfo {
  /** The model directory; only its last path component is exported. */
  dir: string;
  device: string;
  precision: string;
  ortVersion: string;
}

/** Where a decoded step came from: a WebSocket stream, or an uploaded file. */
/** Set by the server, never by a client. */
export type StepSource = "stream" | "upload";

export interface LiveGauges {
  /** TCP connections open now, HTTP and WebSocket (absent: not shown). */
  openConnections?(): number;
  openStreams(): number;
  openUploads(): number;
  inflightBatches(): number;
}

/**
 * Everything `/metrics` shows. The server feeds it from the scheduler's batch reports, the
 * sessions' step reports, refusals, and the connections' errors and closes.
 */
export class ServerMetrics {
  readonly registry = new MetricRegistry();
  readonly streamsTotal;
  readonly refused;
  readonly connectionDrops;
  readonly steps;
  readonly chunks;
  readonly batches;
  readonly batchFailures;
  readonly batchWindows;
  readonly batchStreams;
  readonly encoderSeconds;
  readonly decoderSeconds;
  readonly encoderCalls;
  readonly jointCalls;
  readonly inferenceSeconds;
  readonly stepLatency;
  readonly audioSeconds;
  readonly tokens;
  readonly errors;
  readonly closes;
  readonly droppedPartials;
  /** Inference and audio seconds of the last RTF_WINDOW_MS. */
  #recentInference: SlidingSum;
  #recentAudio: SlidingSum;

  constructor(model: ModelInfo, live: LiveGauges, now: () => number = () => performance.now()) {
    this.#recentInference = new SlidingSum(RTF_WINDOW_MS, now);
    this.#recentAudio = new SlidingSum(RTF_WINDOW_MS, now);
    const r = this.registry;
    r.gauge(
      "parakeet_model_info",
      "The model being served (value always 1)",
      ["model", "device", "precision", "ort_version"],
    ).set(1, {
      model: model.dir.replace(/\/+$/, "").split("/").pop() || model.dir,
      device: model.device,
      precision: model.precision,
      ort_version: model.ortVersion,
    });
    r.gauge("parakeet_build_info", "This server's version (value always 1)", ["version"])
      .set(1, { version: VERSION });
    r.gauge("parakeet_open_streams", "WebSocket streams open now", [], live.openStreams);
    r.gauge(
      "parakeet_open_uploads",
      "Uploads admitted now (body, decoding or transcription; at most MAX_UPLOADS)",
      [],
      live.openUploads,
    );
    r.gauge("parakeet_inflight_batches", "Batches running now", [], live.inflightBatches);
    this.streamsTotal = r.counter("parakeet_streams_total", "WebSocket streams accepted");
    this.refused = r.counter(
      "parakeet_refused_total",
      "Requests refused before any work started (WebSocket upgrades, uploads, auth), by reason",
      ["reason"],
      { reason: REFUSAL_REASONS },
    );
    this.connectionDrops = r.counter(
      "parakeet_connection_drops_total",
      "Connections the HTTP layer refused (caps: 503) or closed itself (timeouts, malformed requests, dead WebSocket peers, accept errors), by reason",
      ["reason"],
      { reason: DROP_REASONS },
    );
    if (live.openConnections) {
      r.gauge(
        "parakeet_open_connections",
        "TCP connections open now, HTTP and WebSocket",
        [],
        live.openConnections,
      );
    }
    this.steps = r.counter(
      "parakeet_steps_total",
      "Decoded steps (one stream's share of one batch), by source",
      ["source"],
    );
    this.chunks = r.counter(
      "parakeet_chunks_total",
      "Chunks decoded (a stream with a backlog decodes several per step), by source",
      ["source"],
    );
    this.batches = r.counter("parakeet_batches_total", "Batches run (failed ones included)");
    this.batchFailures = r.counter("parakeet_batch_failures_total", "Batches the model failed");
    this.batchWindows = r.histogram(
      "parakeet_batch_windows",
      "Encoder windows per batch (the batch size)",
      SIZE_BUCKETS,
    );
    this.batchStreams = r.histogram("parakeet_batch_streams", "Streams per batch", SIZE_BUCKETS);
    this.encoderSeconds = r.histogram(
      "parakeet_encoder_seconds",
      "Encoder time per batch, in seconds",
      TIME_BUCKETS,
    );
    this.decoderSeconds = r.histogram(
      "parakeet_decoder_seconds",
      "TDT decoding (joint and prediction network) time per batch, in seconds",
      TIME_BUCKETS,
    );
    this.encoderCalls = r.counter("parakeet_encoder_calls_total", "Encoder model runs");
    this.jointCalls = r.counter("parakeet_joint_calls_total", "Joint decoder model runs");
    this.inferenceSeconds = r.counter(
      "parakeet_inference_seconds_total",
      "Encoder plus decoder time over all successful batches, in seconds",
    );
    this.stepLatency = r.histogram(
      "parakeet_step_latency_seconds",
      "From a step's audio becoming decodable (its right context arrived) to its partial or final being handed to the socket, in seconds, by source",
      LATENCY_BUCKETS,
      ["source"],
    );
    this.audioSeconds = r.counter(
      "parakeet_audio_seconds_total",
      "Seconds of audio decoded (chunks only; context re-encoded is not counted), by source",
      ["source"],
    );
    this.tokens = r.counter("parakeet_tokens_total", "Tokens decoded, by source", ["source"]);
    r.gauge(
      "parakeet_real_time_factor",
      `Inference seconds per second of audio decoded over the last ${
        RTF_WINDOW_MS / 1000
      } s (below 1: faster than real time; 0 when nothing was decoded)`,
      [],
      () => this.realTimeFactor(),
    );
    this.errors = r.counter(
      "parakeet_errors_total",
      "Error messages sent to clients, by wire error code (src/protocol/wire_errors.ts)",
      ["code"],
      { code: Object.keys(WIRE_ERRORS) },
    );
    this.closes = r.counter(
      "parakeet_ws_closes_total",
      `WebSocket connections closed, by close code (1000 normal, 1001 shutdown, 1005 no code, 1006 abrupt, 1008 policy, 1009 too large, 1011 model failure, 1013 overloaded; any other code a client sends: ${OTHER_CLOSE_CODE})`,
      ["code"],
      { code: [...CLOSE_CODE_LABELS, OTHER_CLOSE_CODE] },
    );
    this.droppedPartials = r.counter(
      "parakeet_dropped_partials_total",
      "Partials not sent to clients that were not reading",
    );
    // Read at scrape time; the heap figures are the main isolate's (the inference worker has
    // its own), RSS is the whole process's.
    const memory: [string, string, keyof Deno.MemoryUsage][] = [
      ["process_resident_memory_bytes", "Resident memory of the process, in bytes", "rss"],
      [
        "parakeet_main_heap_used_bytes",
        "V8 heap in use by the main isolate (sockets, sessions), in bytes",
        "heapUsed",
      ],
      [
        "parakeet_main_heap_total_bytes",
        "V8 heap reserved by the main isolate, in bytes",
        "heapTotal",
      ],
      [
        "parakeet_main_external_bytes",
        "Memory held outside the V8 heap by the main isolate's objects (buffers), in bytes",
        "external",
      ],
    ];
    for (const [name, help, field] of memory) {
      r.gauge(name, help, [], () => Deno.memoryUsage()[field]);
    }
    // Which part of the heap grows (young generation, old, large objects) tells a leak from V8
    // resizing itself.
    r.gauge(
      "parakeet_main_heap_space_bytes",
      "V8 heap reserved by the main isolate per space (new_space, old_space, large_object_space, …), in bytes",
      ["space"],
      () =>
        getHeapSpaceStatistics().filter((s) => s.space_size > 0)
          .map((s) => [{ space: s.space_name }, s.space_size]),
    );
    r.gauge(
      "process_start_time_seconds",
      "Start time of the process since the Unix epoch, in seconds",
    ).set(Math.round(Date.now() / 1000 - performance.now() / 1000));
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
 * A sum over the last `windowMs`, in one-second slots: bounded memory however many values
 * arrive and however rarely anyone scrapes.
 */
export class SlidingSum {
  #slots: Float64Array;
  /** The second each slot holds; a slot from an older second counts as empty. */
  #seconds: Float64Array;
  #now: () => number;

  constructor(windowMs: number, now: () => number) {
    const n = Math.max(1, Math.ceil(windowMs / 1000));
    this.#slots = new Float64Array(n);
    this.#seconds = new Float64Array(n).fill(-Infinity);
    this.#now = now;
  }

  add(value: number): void {
    const second = Math.floor(this.#now() / 1000);
    const i = second % this.#slots.length;
    if (this.#seconds[i] !== second) {
      this.#seconds[i] = second;
      this.#slots[i] = 0;
    }
    this.#slots[i] += value;
  }

  total(): number {
    const second = Math.floor(this.#now() / 1000);
    let sum = 0;
    for (let i = 0; i < this.#slots.length; i++) {
      if (second - this.#seconds[i] < this.#slots.length) sum += this.#slots[i];
    }
    return sum;
  }
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
