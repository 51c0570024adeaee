/**
 * The server: one batch scheduler under the WebSocket streams and the uploads, and the route
 * table over them. Each route family lives in its own module; this one wires them together.
 */
import type { DropReason } from "../net/drop_reasons.ts";
import { serveHttp } from "../net/http_server.ts";
import { RateLimitedLog } from "../net/rate_limited_log.ts";
import { type BatchRunner, BatchScheduler } from "../stream/batch_scheduler.ts";
import type { StepGeometry } from "../stream/step_plan.ts";
import type { StreamContext, StreamSession } from "../stream/stream_session.ts";
import { AccessGate } from "./access_gate.ts";
import {
  AUTO_MAX_STREAMS,
  LATENCY_SLACK_MS,
  type MeasuredCosts,
  StreamCapacity,
} from "./capacity.ts";
import { type AccessPolicy, loadAccessPolicy } from "./auth.ts";
import { clientAddress, parseTrustedProxies } from "./client_address.ts";
import { ClientSlots } from "./client_slots.ts";
import type { ServerConfig } from "./config.ts";
import { connectionCap } from "./connection_cap.ts";
import { drainServer } from "./drain.ts";
import { healthRoutes } from "./health_routes.ts";
import { metricsRoute } from "./metrics_route.ts";
import { modelsRoute } from "./models_route.ts";
import type { RefusalReason } from "./refusals.ts";
import { findRoute, type Route } from "./routes.ts";
import { describeServedModel } from "./served_model.ts";
import { openStreams, refuse, type ServerCore } from "./server_core.ts";
import { chainObservers, countsByLabel, ServerMetrics } from "./server_metrics.ts";
import { isStaticPath, STATIC_ROUTE } from "./static_files.ts";
import { transcriptionRoute } from "./transcription_route.ts";
import { UploadSlots } from "./upload_slots.ts";
import type { WsConnection } from "./ws_connection.ts";
import { wsRoute } from "./ws_route.ts";
import { RealtimeRoute } from "./realtime_route.ts";
import { closeCodeLabel } from "../protocol/wire_errors.ts";
import { wyomingListenerOptions } from "./wyoming_options.ts";
import { startWyomingListener } from "../wyoming/wyoming_listener.ts";
import { VERSION } from "../version.ts";

export interface ModelDescription {
  dir: string;
  precision: "fp32" | "int8";
  device: "cpu" | "cuda";
  ortVersion: string;
  /** True when no model was named and the bundled test model is served. */
  bundled: boolean;
  /** What the model can recognise, as its config.json says (`recognises`); null when silent. */
  recognises: string | null;
}

export interface ServerDeps {
  config: ServerConfig;
  runner: BatchRunner;
  /** A live stream's context; its geometry is `frameGeometry(…).stream`. */
  context: StreamContext;
  /** An uploaded file's windows: `frameGeometry(…).upload` (stream/frame_geometry.ts). */
  uploadGeometry: StepGeometry;
  model: ModelDescription;
  log: (line: string) => void;
  /** Aborting starts the same graceful shutdown as SIGTERM. */
  signal?: AbortSignal;
  /** Hands over the counting of inference-worker restarts (the engine calls `counted`). */
  watchWorkerRestarts?(counted: () => void): void;
  /** Tokens and origins (default: from the config's AUTH_TOKEN, AUTH_TOKEN_FILE, ALLOWED_ORIGINS). */
  access?: AccessPolicy;
  /** The step costs measured at start: required by MAX_STREAMS=auto. */
  stepCosts?: MeasuredCosts;
  /** Inference lanes behind `runner`, each running one batch at a time (default 1). */
  lanes?: number;
}

/** What the HTTP layer tells the handler about the connection a request came on. */
export interface ConnectionInfo {
  remoteAddr: { hostname: string };
}

export interface RunningServer {
  hostname: string;
  port: number;
  /** Stops accepting, flushes the finals of open streams, closes them, stops listening. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  stats(): ServerStats;
  /** What a shutdown is still waiting for. */
  pending(): PendingWork;
  /** The Wyoming protocol listener's address (null: WYOMING_PORT unset). */
  wyoming: { hostname: string; port: number } | null;
}

export interface PendingWork {
  /** WebSocket streams not yet released. */
  streams: number;
  /** Uploaded files being transcribed. */
  uploads: number;
  /** HTTP requests whose handler has not answered yet (upgrades count until the 101). */
  requests: number;
  /** Batches sent to the model and not answered. */
  batches: number;
}

/**
 * Counts since start, read from the metrics' counters (what `/metrics` shows); `refused` and
 * `closesByCode` hold only what happened at least once.
 */
export interface ServerStats {
  openStreams: number;
  streamsTotal: number;
  refused: Partial<Record<RefusalReason, number>>;
  batches: number;
  batchFailures: number;
  closesByCode: Record<string, number>;
}

/** Closes the HTTP layer does on its own that a healthy client also meets: counted, not logged. */
const QUIET_DROPS: ReadonlySet<DropReason> = new Set(["keepalive_timeout", "shutdown"]);

/** MAX_STREAMS as a number, or what the measured step costs hold (at most the connection cap). */
function streamCapacity(deps: ServerDeps, maxConnections: number): StreamCapacity {
  const { config, log } = deps;
  if (config.maxStreams !== "auto") return StreamCapacity.configured(config.maxStreams);
  if (!deps.stepCosts) throw new Error("MAX_STREAMS=auto needs the step costs measured at start");
  const capacity = StreamCapacity.measured(deps.stepCosts, {
    stepMs: config.stepMs,
    maxBatch: config.maxBatch,
    hardCap: Math.min(AUTO_MAX_STREAMS, maxConnections),
  }, log);
  log(
    `capacity: ${capacity.streams} streams (MAX_STREAMS=auto: p95 partial latency ≤ ${
      config.stepMs + LATENCY_SLACK_MS
    } ms at these knobs on this device)`,
  );
  return capacity;
}

/** The HTTP routes and the WebSocket endpoint over one scheduler. */
export function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, log } = deps;
  const lanes = deps.lanes ?? 1;
  const scheduler = new BatchScheduler(deps.runner, {
    maxBatch: config.maxBatch,
    maxInflight: config.maxInflightSteps * lanes,
    lanes,
  });
  const maxConnections = connectionCap(config.maxConnections, log);
  const capacity = streamCapacity(deps, maxConnections);
  const connections = new Set<WsConnection>();
  const uploads = new Set<StreamSession>();
  const uploadSlots = new UploadSlots(config.maxUploads);
  let openConnections = () => 0;
  const metrics = new ServerMetrics(deps.model, {
    openConnections: () => openConnections(),
    openStreams: () => openStreams(core),
    openUploads: () => uploadSlots.inUse,
    inflightBatches: () => scheduler.inflight,
    capacityStreams: () => capacity.streams,
  });
  deps.watchWorkerRestarts?.(() => metrics.workerRestarts.inc());
  let lastId = 0;
  const core: ServerCore = {
    config,
    log,
    scheduler,
    metrics,
    connections,
    uploads,
    uploadSlots,
    drain: new AbortController(),
    draining: false,
    nextId: () => ++lastId,
    wyoming: null,
    realtime: null,
    capacity,
  };
  scheduler.onBatch = (r) => {
    metrics.batchDone(r);
    // Upload windows are longer than a stream's: their batches say nothing of a step's cost.
    const s = r.result?.stats;
    if (s && uploads.size === 0) capacity.observeBatch(r.windows, s.encodeMs + s.decodeMs);
  };
  scheduler.onBatchFailed = (sessions, error) => {
    log(`batch of ${sessions.length} stream(s) failed: ${error.message}`);
  };

  /** Read from the metrics' counters: one record of what happened, two views of it. */
  const stats = (): ServerStats => ({
    openStreams: openStreams(core),
    streamsTotal: metrics.streamsTotal.get(),
    refused: countsByLabel(metrics.refused),
    batches: metrics.batches.get(),
    batchFailures: metrics.batchFailures.get(),
    closesByCode: countsByLabel(metrics.closes),
  });

  const access = deps.access ?? loadAccessPolicy(config);
  const gate = new AccessGate(access, { maxFailures: config.authMaxFailures, log });
  const trustedProxies = parseTrustedProxies(config.trustedProxies);
  const streamContext: StreamContext = {
    ...deps.context,
    observer: chainObservers(deps.context.observer, metrics.observer("stream")),
  };
  const uploadContext: StreamContext = {
    ...streamContext,
    geometry: deps.uploadGeometry,
    tentative: false,
    maxBacklogFrames: Infinity,
    observer: chainObservers(deps.context.observer, metrics.observer("upload")),
  };
  const clientSlots = new ClientSlots(config.maxStreamsPerClient);
  const served = describeServedModel(deps.model.dir);
  // OpenAI Realtime transcription sessions: stream slots shared with /ws.
  const realtime = new RealtimeRoute({
    config,
    model: served.id,
    context: streamContext,
    scheduler,
    clientSlots,
    openStreams: () => openStreams(core),
    capacity: () => capacity.streams,
    draining: () => core.draining,
    nextId: core.nextId,
    refuse: (reason, status, message, headers) => refuse(core, reason, status, message, headers),
    opened: () => metrics.streamsTotal.inc(),
    closed: (code) => metrics.closes.inc(1, { code: closeCodeLabel(code) }),
    log,
  });
  core.realtime = realtime;
  const routes: readonly Route[] = [
    ...healthRoutes(core, {
      model: deps.model,
      access,
      maxConnections,
      lanes,
      stats,
    }),
    metricsRoute(metrics),
    modelsRoute(served),
    transcriptionRoute(core, uploadContext, served.id),
    wsRoute(core, streamContext, clientSlots),
    { path: "/v1/realtime", handle: ({ req, url, client }) => realtime.handle(req, url, client) },
    STATIC_ROUTE,
  ];

  let requestsInFlight = 0;
  const dropLog = new RateLimitedLog(log);
  const http = serveHttp({
    hostname: config.host,
    port: config.port,
    maxConnections,
    maxConnectionsPerClient: config.maxConnectionsPerClient,
    headerTimeoutMs: config.headerTimeoutS * 1000,
    bodyTimeoutMs: config.bodyTimeoutS * 1000,
    bodyMinBytesPerS: config.bodyMinBytesPerS,
    keepAliveTimeoutMs: config.keepAliveTimeoutS * 1000,
    onDrop: (reason, client, detail) => {
      metrics.connectionDrops.inc(1, { reason });
      if (!QUIET_DROPS.has(reason)) {
        dropLog.note(client, `connection from ${client}: ${reason} (${detail})`);
      }
    },
    onError: (err) => log(`request failed: ${(err as Error)?.message ?? err}`),
  }, async (req, info) => {
    requestsInFlight++;
    try {
      const url = new URL(req.url);
      const client = clientAddress(
        info.remoteAddr.hostname,
        req.headers.get("x-forwarded-for"),
        trustedProxies,
      );
      // Before anything else, upgrades included, and without reading the body; the demo's own
      // files need no token.
      const denied = gate.check(req, url, client, isStaticPath(url.pathname));
      if (denied) {
        return refuse(core, denied.reason, denied.status, denied.message, denied.headers);
      }
      const route = findRoute(routes, req.method, url.pathname);
      if (!route) return new Response("Not found\n", { status: 404 });
      return await route.handle({ req, url, client });
    } finally {
      requestsInFlight--;
    }
  });
  openConnections = () => http.openConnections;
  // Wyoming (Home Assistant's voice pipeline): its own TCP port, its sessions in this scheduler.
  const wyomingOptions = wyomingListenerOptions({
    config,
    context: streamContext,
    scheduler,
    modelDir: deps.model.dir,
    version: VERSION,
    nextId: core.nextId,
    log,
  });
  try {
    core.wyoming = wyomingOptions ? startWyomingListener(wyomingOptions) : null;
  } catch (err) {
    void http.close();
    const { hostname, port } = wyomingOptions!;
    throw new Error(
      `cannot listen for Wyoming on ${hostname}:${port}: ${
        (err as Error).message
      }; stop what holds it or set WYOMING_PORT/WYOMING_HOST`,
    );
  }

  let shuttingDown: Promise<void> | null = null;
  const shutdown = () => shuttingDown ??= drainServer(core, http, () => requestsInFlight);
  deps.signal?.addEventListener("abort", () => shutdown(), { once: true });

  return Promise.resolve({
    hostname: http.addr.hostname,
    port: http.addr.port,
    shutdown,
    finished: http.finished,
    stats,
    pending: () => ({
      streams: openStreams(core),
      uploads: uploads.size,
      requests: requestsInFlight,
      batches: scheduler.inflight,
    }),
    wyoming: core.wyoming && { hostname: core.wyoming.hostname, port: core.wyoming.port },
  });
}
