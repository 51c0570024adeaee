import { raiseFileLimit } from "../../ffi/rlimit.ts";
import { effectiveConnectionCap } from "../net/connection_table.ts";
import type { DropReason } from "../net/drop_reasons.ts";
import { serveHttp, type ServeInfo } from "../net/http_server.ts";
import { RateLimitedLog } from "../net/rate_limited_log.ts";
import { upgradeWebSocket } from "../net/ws_upgrade.ts";
import { type BatchRunner, BatchScheduler } from "../stream/batch_scheduler.ts";
import type { StepGeometry } from "../stream/step_plan.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import { VERSION } from "../version.ts";
import { AccessGate } from "./access_gate.ts";
import { type AccessPolicy, loadAccessPolicy } from "./auth.ts";
import { clientAddress, parseTrustedProxies } from "./client_address.ts";
import { ClientSlots } from "./client_slots.ts";
import type { ServerConfig } from "./config.ts";
import { chainObservers, METRICS_CONTENT_TYPE, ServerMetrics } from "./metrics.ts";
import type { ServerMessage } from "../protocol/protocol.ts";
import type { RefusalReason } from "./refusals.ts";
import { isStaticPath, serveStatic } from "./static_files.ts";
import { apiError, handleTranscription, type TranscriptionDeps } from "./transcription_route.ts";
import { UploadSlots } from "./upload_slots.ts";
import { closeCodeLabel } from "../protocol/wire_errors.ts";
import { WsConnection } from "./ws_connection.ts";
import { RealtimeRoute } from "./realtime_route.ts";

export interface ModelDescription {
  dir: string;
  precision: "fp32" | "int8";
  device: "cpu" | "cuda";
  ortVersion: string;
  /** True when no model was named and the bundled test model is served. */
  bundled: boolean;
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
  /** Tokens and origins (default: from the config's AUTH_TOKEN, AUTH_TOKEN_FILE, ALLOWED_ORIGINS). */
  access?: AccessPolicy;
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

export interface ServerStats {
  openStreams: number;
  streamsTotal: number;
  refused: Partial<Record<RefusalReason, number>>;
  batches: number;
  batchFailures: number;
  closesByCode: Record<string, number>;
}

/**
 * Time between an error message and the close frame after it: enough for a client that stops
 * sending on an error to have stopped, so the close code is not lost to a TCP reset.
 */
const CLOSE_LINGER_MS = 250;

/**
 * After the drain, the least time the HTTP layer gets to answer what still waits (503) and close
 * its connections; a peer that holds a connection open past it is closed by the process exit.
 */
const HTTP_CLOSE_GRACE_MS = 1000;

/** The HTTP routes and the WebSocket endpoint over one scheduler. */
export function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, log } = deps;
  const scheduler = new BatchScheduler(deps.runner, {
    maxBatch: config.maxBatch,
    maxInflight: config.maxInflightSteps,
  });
  const connections = new Set<WsConnection>();
  const clientSlots = new ClientSlots(config.maxStreamsPerClient);
  const trustedProxies = parseTrustedProxies(config.trustedProxies);
  const bySession = new Map<StreamSession, WsConnection>();
  /** Uploaded files being decoded, and where their messages go. */
  const uploads = new Map<StreamSession, (m: ServerMessage) => void>();
  /** Aborted when the drain starts: uploads in progress stop and are answered 503. */
  const drain = new AbortController();
  let requestsInFlight = 0;
  let openConnections = () => 0;
  /** MAX_UPLOADS: held from before an upload's body is read until its response is ready. */
  const uploadSlots = new UploadSlots(config.maxUploads);
  const metrics = new ServerMetrics(deps.model, {
    openConnections: () => openConnections(),
    openStreams: () => connections.size,
    openUploads: () => uploadSlots.inUse,
    inflightBatches: () => scheduler.inflight,
  });
  const context: StreamContext = {
    ...deps.context,
    observer: chainObservers(deps.context.observer, metrics.observer("stream")),
  };
  const uploadContext: StreamContext = {
    ...context,
    geometry: deps.uploadGeometry,
    tentative: false,
    maxBacklogFrames: Infinity,
    observer: chainObservers(deps.context.observer, metrics.observer("upload")),
  };
  const transcription: TranscriptionDeps = {
    maxUploadBytes: config.maxUploadBytes,
    limits: {
      maxDurationS: config.maxUploadS,
      timeoutMs: config.uploadDecodeTimeoutS * 1000,
    },
    openSession: (send) => {
      const s = new StreamSession(nextId++, uploadContext, send);
      s.background = true;
      uploads.set(s, send);
      scheduler.add(s);
      return s;
    },
    closeSession: (s) => {
      s.close();
      uploads.delete(s);
      scheduler.remove(s);
    },
    wake: () => scheduler.wake(),
    shutdown: drain.signal,
  };
  let nextId = 1;
  let draining = false;
  const stats: ServerStats = {
    openStreams: 0,
    streamsTotal: 0,
    refused: {},
    batches: 0,
    batchFailures: 0,
    closesByCode: {},
  };

  scheduler.onBatch = (r) => {
    metrics.batchDone(r);
    stats.batches++;
    if (r.error) stats.batchFailures++;
  };
  scheduler.onBatchFailed = (sessions, error) => {
    log(`batch of ${sessions.length} stream(s) failed: ${error.message}`);
    for (const s of sessions) {
      const message = `Inference failed for this stream: ${error.message}`;
      bySession.get(s)?.fail("internal_error", message);
      realtime.connectionOf(s)?.decodeFailed(message);
      uploads.get(s)?.({ type: "error", code: "internal_error", message });
    }
  };

  const access = deps.access ?? loadAccessPolicy(config);
  const gate = new AccessGate(access, { maxFailures: config.authMaxFailures, log });
  const refuse = (
    reason: RefusalReason,
    status: number,
    message: string,
    headers: Record<string, string> = {},
  ): Response => {
    stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
    metrics.refused.inc(1, { reason });
    return new Response(message + "\n", {
      status,
      headers: { "content-type": "text/plain", ...headers },
    });
  };

  // OpenAI Realtime transcription sessions: stream slots shared with /ws.
  const realtime: RealtimeRoute = new RealtimeRoute({
    config,
    context,
    scheduler,
    clientSlots,
    openStreams: (): number => connections.size + realtime.size,
    draining: () => draining,
    nextId: () => nextId++,
    refuse,
    opened: () => {
      stats.streamsTotal++;
      metrics.streamsTotal.inc();
    },
    closed: (code) => {
      const key = closeCodeLabel(code);
      stats.closesByCode[key] = (stats.closesByCode[key] ?? 0) + 1;
      metrics.closes.inc(1, { code: key });
    },
    log,
  });

  const statusBody = () => ({
    status: draining ? "draining" : "ok",
    version: VERSION,
    // Where files are is for the operator: only a caller with a token (there is none to present
    // without AUTH_TOKEN) sees the full path, everyone else the directory's name.
    model: access.tokens.length > 0 ? deps.model : { ...deps.model, dir: baseName(deps.model.dir) },
    streams: { open: connections.size, capacity: config.maxStreams, total: stats.streamsTotal },
    // running: slots held (body arriving, decoding or transcribing); transcribing: in inference.
    uploads: {
      running: uploadSlots.inUse,
      transcribing: uploads.size,
      capacity: config.maxUploads,
    },
    batches: { run: stats.batches, failed: stats.batchFailures, inflight: scheduler.inflight },
    refused: stats.refused,
    knobs: {
      STEP_MS: config.stepMs,
      RIGHT_CONTEXT_MS: config.rightContextMs,
      LEFT_CONTEXT_MS: config.leftContextMs,
      MAX_BATCH: config.maxBatch,
      MAX_INFLIGHT_STEPS: config.maxInflightSteps,
      MAX_STREAMS: config.maxStreams,
      MAX_STREAMS_PER_CLIENT: config.maxStreamsPerClient,
      MAX_FRAME_BYTES: config.maxFrameBytes,
      MAX_BACKLOG_S: config.maxBacklogS,
      IDLE_TIMEOUT_S: config.idleTimeoutS,
      // The cap in force: MAX_CONNECTIONS, clamped below the open-file limit.
      MAX_CONNECTIONS: maxConnections,
      MAX_CONNECTIONS_PER_CLIENT: config.maxConnectionsPerClient,
      HEADER_TIMEOUT_S: config.headerTimeoutS,
      BODY_TIMEOUT_S: config.bodyTimeoutS,
      BODY_MIN_BYTES_PER_S: config.bodyMinBytesPerS,
      KEEPALIVE_TIMEOUT_S: config.keepAliveTimeoutS,
    },
  });

  const handler = (req: Request, info: ServeInfo): Response | Promise<Response> => {
    const url = new URL(req.url);
    const client = clientAddress(
      info.remoteAddr.hostname,
      req.headers.get("x-forwarded-for"),
      trustedProxies,
    );
    // Before anything else, upgrades included, and without reading the body; the demo's own
    // files need no token.
    const denied = gate.check(req, url, client, isStaticPath(url.pathname));
    if (denied) return refuse(denied.reason, denied.status, denied.message, denied.headers);
    if (url.pathname === "/status" && req.method === "GET") {
      return new Response("ok", { headers: { "content-type": "text/plain" } });
    }
    // Readiness for load balancers and Kubernetes: 503 while a new stream would be refused
    // (full or draining), so traffic goes to another instance; /status stays the liveness check.
    if (url.pathname === "/ready" && req.method === "GET") {
      const state = draining
        ? "draining"
        : connections.size + realtime.size >= config.maxStreams
        ? "full"
        : "ready";
      return new Response(
        `${state} (${connections.size + realtime.size}/${config.maxStreams} streams)\n`,
        {
          status: state === "ready" ? 200 : 503,
          headers: { "content-type": "text/plain" },
        },
      );
    }
    if (url.pathname === "/v1/status" && req.method === "GET") {
      return Response.json(statusBody());
    }
    if (url.pathname === "/metrics" && req.method === "GET") {
      return new Response(metrics.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
    }
    if (url.pathname === "/v1/audio/transcriptions") {
      // Refusals here speak OpenAI's error JSON, like the rest of the route.
      const refuseUpload = (reason: RefusalReason, code: string, message: string) => {
        stats.refused[reason] = (stats.refused[reason] ?? 0) + 1;
        metrics.refused.inc(1, { reason });
        return apiError(503, code, message, { "retry-after": "5" });
      };
      if (draining) {
        return refuseUpload("shutting_down", "shutting_down", "The server is shutting down");
      }
      const release = uploadSlots.tryAcquire();
      if (!release) {
        return refuseUpload(
          "uploads",
          "too_many_uploads",
          `The server is transcribing ${config.maxUploads} files already (MAX_UPLOADS); retry later`,
        );
      }
      return handleTranscription(req, transcription, release);
    }
    if (url.pathname === "/v1/realtime") return realtime.handle(req, url, client);
    if (url.pathname === "/ws") {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return refuse("not_websocket", 426, "This endpoint speaks WebSocket only");
      }
      if (draining) return refuse("shutting_down", 503, "The server is shutting down");
      if (clientSlots.held(client) >= config.maxStreamsPerClient) {
        return refuse(
          "client_streams",
          503,
          `Your address holds ${config.maxStreamsPerClient} open streams already (MAX_STREAMS_PER_CLIENT); close one first`,
        );
      }
      if (connections.size + realtime.size >= config.maxStreams) {
        return refuse(
          "capacity",
          503,
          `The server is at capacity (${config.maxStreams} open streams); retry later`,
        );
      }
      const endpoint = url.searchParams.get("endpoint_ms");
      const endpointMs = endpoint === null ? config.endpointMs : Number(endpoint);
      if (!/^\d{1,5}$/.test(endpoint ?? "0") || endpointMs > 60_000) {
        return refuse(
          "bad_request",
          400,
          `endpoint_ms must be a whole number of milliseconds from 0 to 60000, got "${endpoint}"`,
        );
      }
      // Liveness: a peer that sends nothing, not even a pong, for IDLE_TIMEOUT_S is closed 1001.
      const upgrade = upgradeWebSocket(req, {
        maxBinaryBytes: config.maxFrameBytes,
        maxTextBytes: config.maxTextBytes,
        idleTimeoutMs: config.idleTimeoutS * 1000,
      });
      if (!upgrade.ok) {
        return refuse("bad_handshake", 400, `Bad WebSocket handshake: ${upgrade.reason}`);
      }
      const { socket, response } = upgrade;
      // Taken only once the upgrade is sure to go ahead (checked above, nothing awaited since).
      clientSlots.tryAcquire(client);
      const id = nextId++;
      const conn = new WsConnection(
        socket,
        (send) => {
          const s = new StreamSession(id, context, send, { endpointMs });
          s.onWarning = log;
          return s;
        },
        {
          maxBinaryBytes: config.maxFrameBytes,
          maxTextBytes: config.maxTextBytes,
          maxMessagesPerS: config.maxMessagesPerS,
          idleTimeoutMs: config.idleTimeoutS * 1000,
          sessionMaxMs: config.sessionMaxS * 1000,
          slowConsumerBytes: config.slowConsumerBytes,
          slowConsumerMs: config.slowConsumerS * 1000,
          closeTimeoutMs: config.closeTimeoutS * 1000,
          closeLingerMs: CLOSE_LINGER_MS,
        },
        {
          wake: () => scheduler.wake(),
          release: (c) => {
            connections.delete(c);
            clientSlots.release(client);
            bySession.delete(c.session);
            scheduler.remove(c.session);
            stats.openStreams = connections.size;
            metrics.droppedPartials.inc(c.droppedPartials);
          },
          error: (code) => metrics.errors.inc(1, { code }),
          log,
        },
      );
      connections.add(conn);
      bySession.set(conn.session, conn);
      scheduler.add(conn.session);
      stats.streamsTotal++;
      metrics.streamsTotal.inc();
      stats.openStreams = connections.size;
      socket.addEventListener("close", (e) => {
        // The client picks the code: an unlisted one is counted as "other", not as itself.
        const key = closeCodeLabel((e as CloseEvent).code);
        stats.closesByCode[key] = (stats.closesByCode[key] ?? 0) + 1;
        metrics.closes.inc(1, { code: key });
      });
      return response;
    }
    if (isStaticPath(url.pathname)) return serveStatic(req, url.pathname);
    return new Response("Not found\n", { status: 404 });
  };

  // Every connection is a file descriptor: take all the process may have, and keep the cap
  // well below it so that running out is a 503, never an accept error.
  const files = raiseFileLimit();
  const maxConnections = files
    ? effectiveConnectionCap(config.maxConnections, files.after.soft)
    : config.maxConnections;
  if (files && files.before.soft !== files.after.soft) {
    log(`open-file limit raised from ${files.before.soft} to ${files.after.soft}`);
  }
  if (files && maxConnections < config.maxConnections) {
    log(
      `connections: at most ${maxConnections}, not MAX_CONNECTIONS=${config.maxConnections}: the open-file limit is ${files.after.soft} (raise it with ulimit -n)`,
    );
  }
  const dropLog = new RateLimitedLog(log);
  /** Closes the layer does on its own that a healthy client also meets: counted, not logged. */
  const quietDrops: ReadonlySet<DropReason> = new Set(["keepalive_timeout", "shutdown"]);
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
      if (!quietDrops.has(reason)) {
        dropLog.note(client, `connection from ${client}: ${reason} (${detail})`);
      }
    },
    onError: (err) => log(`request failed: ${(err as Error)?.message ?? err}`),
  }, async (req, info) => {
    requestsInFlight++;
    try {
      return await handler(req, info);
    } finally {
      requestsInFlight--;
    }
  });
  openConnections = () => http.openConnections;

  let shuttingDown: Promise<void> | null = null;
  function shutdown(): Promise<void> {
    shuttingDown ??= (async () => {
      draining = true;
      // New connections are refused by the kernel from here; open ones finish their work.
      http.stopAccepting();
      log(
        `shutting down: flushing finals of ${connections.size} open stream(s); stopping ${uploads.size} upload(s)`,
      );
      drain.abort();
      for (const c of connections) c.endAfterFinal("shutting_down");
      realtime.drainAll();
      const deadline = Date.now() + config.shutdownTimeoutS * 1000;
      while (connections.size + realtime.size > 0 && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      for (const c of connections) c.release();
      realtime.releaseAll();
      // A batch the engine never answers must not hold the process: bounded like the rest.
      const left = Math.max(0, deadline - Date.now());
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        scheduler.idle(),
        new Promise<void>((r) => (timer = setTimeout(r, left))),
      ]);
      clearTimeout(timer);
      // Handlers the drain stopped (uploads) answer it themselves, in their own shape; a moment
      // for that before the HTTP layer answers whatever is still waiting with its own 503.
      const answerBy = Math.min(deadline, Date.now() + HTTP_CLOSE_GRACE_MS);
      while (requestsInFlight > 0 && Date.now() < answerBy) {
        await new Promise((r) => setTimeout(r, 10));
      }
      // Whatever still waits for an answer gets 503; every connection is closed. Bounded too: the
      // process exit closes whatever a peer still holds open.
      const grace = Math.max(HTTP_CLOSE_GRACE_MS, deadline - Date.now());
      await Promise.race([
        http.close(),
        new Promise<void>((r) => (timer = setTimeout(r, grace))),
      ]);
      clearTimeout(timer);
    })();
    return shuttingDown;
  }
  deps.signal?.addEventListener("abort", () => shutdown(), { once: true });

  return Promise.resolve({
    hostname: http.addr.hostname,
    port: http.addr.port,
    shutdown,
    finished: http.finished,
    stats: () => ({ ...stats, openStreams: connections.size }),
    pending: () => ({
      streams: connections.size + realtime.size,
      uploads: uploads.size,
      requests: requestsInFlight,
      batches: scheduler.inflight,
    }),
  });
}

/** The last component of a path: a directory's name without where it is. */
function baseName(path: string): string {
  return path.replace(/[/\\]+$/, "").split(/[/\\]/).pop() || path;
}
