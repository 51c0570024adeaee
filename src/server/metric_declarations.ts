/**
 * Every metric `/metrics` exposes, in the order it is written out: name, type, help, labels with
 * the values each may take, histogram buckets. `ServerMetrics` registers exactly these and
 * docs/metrics.md is generated from them, so the page cannot describe a metric the server does
 * not have.
 */
import { DROP_REASONS } from "../net/drop_reasons.ts";
import { CLOSE_CODE_LABELS, OTHER_CLOSE_CODE, WIRE_ERRORS } from "../protocol/wire_errors.ts";
import { REFUSAL_REASONS } from "./refusals.ts";

export type MetricType = "counter" | "gauge" | "histogram";

/** A label whose values come from the server's own data (a model name), not from a list. */
export interface OpenLabelValues {
  open: string;
}

export interface LabelDeclaration {
  name: string;
  /** The only values the label takes, or what an open one holds. */
  values: readonly string[] | OpenLabelValues;
}

export interface MetricDeclaration {
  name: string;
  type: MetricType;
  help: string;
  labels: readonly LabelDeclaration[];
  /** Histograms only: upper bounds in increasing order (+Inf is implied). */
  buckets?: readonly number[];
  /**
   * Closed labels fed from what clients send (a close code, a reason): every series is written
   * from the start, at 0, and a value outside the list throws, so no client can add a series.
   * Without it a series appears with its first event.
   */
  enforced?: boolean;
}

/** Seconds, for the per-batch encoder and decoder times. */
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

/** Where a decoded step came from: a WebSocket stream, or an uploaded file. Set by the server. */
export const STEP_SOURCES = ["stream", "upload"] as const;
export type StepSource = typeof STEP_SOURCES[number];

const SOURCE: LabelDeclaration = { name: "source", values: STEP_SOURCES };

const counter = (
  name: string,
  help: string,
  labels: readonly LabelDeclaration[] = [],
  enforced?: boolean,
): MetricDeclaration => ({ name, type: "counter", help, labels, ...(enforced && { enforced }) });
const gauge = (
  name: string,
  help: string,
  labels: readonly LabelDeclaration[] = [],
): MetricDeclaration => ({ name, type: "gauge", help, labels });
const histogram = (
  name: string,
  help: string,
  buckets: readonly number[],
  labels: readonly LabelDeclaration[] = [],
): MetricDeclaration => ({ name, type: "histogram", help, labels, buckets });

export const METRIC_DECLARATIONS: readonly MetricDeclaration[] = [
  gauge("parakeet_model_info", "The model being served (value always 1)", [
    { name: "model", values: { open: "the model directory's name" } },
    { name: "device", values: ["cpu", "cuda"] },
    { name: "precision", values: ["fp32", "int8"] },
    { name: "ort_version", values: { open: "the ONNX Runtime version" } },
  ]),
  gauge("parakeet_build_info", "This server's version (value always 1)", [
    { name: "version", values: { open: "the server's version" } },
  ]),
  gauge("parakeet_open_streams", "WebSocket streams open now"),
  gauge(
    "parakeet_capacity_streams",
    "WebSocket streams admitted at once: MAX_STREAMS, or with MAX_STREAMS=auto the streams this device holds at p95 partial latency ≤ STEP_MS + 100 ms, measured at start and recomputed when step costs drift (open streams / this = load)",
  ),
  gauge(
    "parakeet_open_uploads",
    "Uploads admitted now (body, decoding or transcription; at most MAX_UPLOADS)",
  ),
  gauge("parakeet_inflight_batches", "Batches running now"),
  counter(
    "parakeet_worker_restarts_total",
    "Inference workers replaced after a batch passed INFERENCE_TIMEOUT_S or the worker died",
  ),
  counter("parakeet_streams_total", "WebSocket streams accepted"),
  counter(
    "parakeet_refused_total",
    "Requests refused before any work started (WebSocket upgrades, uploads, auth), by reason",
    [{ name: "reason", values: REFUSAL_REASONS }],
    true,
  ),
  counter(
    "parakeet_connection_drops_total",
    "Connections the HTTP layer refused (caps: 503) or closed itself (timeouts, malformed requests, dead WebSocket peers, accept errors), by reason",
    [{ name: "reason", values: DROP_REASONS }],
    true,
  ),
  gauge("parakeet_open_connections", "TCP connections open now, HTTP and WebSocket"),
  counter(
    "parakeet_steps_total",
    "Decoded steps (one stream's share of one batch), by source",
    [SOURCE],
  ),
  counter(
    "parakeet_chunks_total",
    "Chunks decoded (a stream with a backlog decodes several per step), by source",
    [SOURCE],
  ),
  counter("parakeet_batches_total", "Batches run (failed ones included)"),
  counter("parakeet_batch_failures_total", "Batches the model failed"),
  histogram("parakeet_batch_windows", "Encoder windows per batch (the batch size)", SIZE_BUCKETS),
  histogram("parakeet_batch_streams", "Streams per batch", SIZE_BUCKETS),
  histogram("parakeet_encoder_seconds", "Encoder time per batch, in seconds", TIME_BUCKETS),
  histogram(
    "parakeet_decoder_seconds",
    "TDT decoding (joint and prediction network) time per batch, in seconds",
    TIME_BUCKETS,
  ),
  counter("parakeet_encoder_calls_total", "Encoder model runs"),
  counter("parakeet_joint_calls_total", "Joint decoder model runs"),
  counter(
    "parakeet_inference_seconds_total",
    "Encoder plus decoder time over all successful batches, in seconds",
  ),
  histogram(
    "parakeet_step_latency_seconds",
    "From a step's audio becoming decodable (its right context arrived) to its partial or final being handed to the socket, in seconds, by source",
    LATENCY_BUCKETS,
    [SOURCE],
  ),
  counter(
    "parakeet_audio_seconds_total",
    "Seconds of audio decoded (chunks only; context re-encoded is not counted), by source",
    [SOURCE],
  ),
  counter("parakeet_tokens_total", "Tokens decoded, by source", [SOURCE]),
  gauge(
    "parakeet_real_time_factor",
    `Inference seconds per second of audio decoded over the last ${
      RTF_WINDOW_MS / 1000
    } s (below 1: faster than real time; 0 when nothing was decoded)`,
  ),
  counter(
    "parakeet_errors_total",
    "Error messages sent to clients, by wire error code (src/protocol/wire_errors.ts)",
    [{ name: "code", values: Object.keys(WIRE_ERRORS) }],
    true,
  ),
  counter(
    "parakeet_ws_closes_total",
    `WebSocket connections closed, by close code (1000 normal, 1001 shutdown, 1005 no code, 1006 abrupt, 1008 policy, 1009 too large, 1011 model failure, 1013 overloaded; any other code a client sends: ${OTHER_CLOSE_CODE})`,
    [{ name: "code", values: [...CLOSE_CODE_LABELS, OTHER_CLOSE_CODE] }],
    true,
  ),
  counter("parakeet_dropped_partials_total", "Partials not sent to clients that were not reading"),
  // The heap figures are the main isolate's (the inference worker has its own), RSS is the
  // whole process's.
  gauge("process_resident_memory_bytes", "Resident memory of the process, in bytes"),
  gauge(
    "parakeet_main_heap_used_bytes",
    "V8 heap in use by the main isolate (sockets, sessions), in bytes",
  ),
  gauge("parakeet_main_heap_total_bytes", "V8 heap reserved by the main isolate, in bytes"),
  gauge(
    "parakeet_main_external_bytes",
    "Memory held outside the V8 heap by the main isolate's objects (buffers), in bytes",
  ),
  // Which part of the heap grows (young generation, old, large objects) tells a leak from V8
  // resizing itself.
  gauge(
    "parakeet_main_heap_space_bytes",
    "V8 heap reserved by the main isolate per space (new_space, old_space, large_object_space, …), in bytes",
    [{ name: "space", values: { open: "a V8 heap space's name" } }],
  ),
  gauge(
    "process_start_time_seconds",
    "Start time of the process since the Unix epoch, in seconds",
  ),
];

/** The declaration of `name`; a name not in the table is a bug. */
export function metricDeclaration(name: string): MetricDeclaration {
  const d = METRIC_DECLARATIONS.find((m) => m.name === name);
  if (!d) throw new RangeError(`metric ${name} is not declared`);
  return d;
}
