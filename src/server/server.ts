import { type BatchRunner, BatchScheduler } from "../stream/batch_scheduler.ts";
import { fileChunkGeometry } from "../stream/file_windows.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import { VERSION } from "../version.ts";
import { type AccessPolicy, checkAccess, loadAccessPolicy } from "./auth.ts";
import type { ServerConfig } from "./config.ts";
import { chainObservers, METRICS_CONTENT_TYPE, ServerMetrics } from "./metrics.ts";
import type { ServerMessage } from "./protocol.ts";
import { isStaticPath, serveStatic } from "./static_files.ts";
import { handleTranscription, type TranscriptionDeps } from "./transcription_route.ts";
import { WsConnection } from "./ws_connection.ts";

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
  context: StreamContext;
  model: ModelDescription;
  log: (line: string) => void;
  /** Aborting starts the same graceful shutdown as SIGTERM. */
  signal?: AbortSignal;
  /** Tokens and origins (default: from the config's AUTH_TOKEN, AUTH_TOKEN_FILE, ALLOWED_ORIGINS). */
  access?: AccessPolicy;
}

export interface RunningServer {
  hostname: string;
  port: number;
  /** Stops accepting, flushes the finals of open streams, closes them, stops listening. */
  shutdown(): Promise<void>;
  /** Resolves when the server has stopped. */
  finished: Promise<void>;
  stats(): ServerStats;
}

export interface ServerStats {
  openStreams: number;
  streamsTotal: number;
  refused: Record<string, number>;
  batches: number;
  batchFailures: number;
  closesByCode: Record<string, number>;
}

/**
 * Time between an error message and the close frame after it: enough for a client that stops
 * sending on an error to have stopped, so the close code is not lost to a TCP reset.
 */
const CLOSE_LINGER_MS = 250;

/** The HTTP routes and the WebSocket endpoint over one scheduler. */
export function startServer(deps: ServerDeps): Promise<RunningServer> {
  const { config, log } = deps;
  const scheduler = new BatchScheduler(deps.runner, {
    maxBatch: config.maxBatch,
    maxInflight: config.maxInflightSteps,
  });
  const connections = new Set<WsConnection>();
  const bySession = new Map<StreamSession, WsConnection>();
  /** Uploaded files being decoded, and where their messages go. */
  const uploads = new Map<StreamSession, (m: ServerMessage) => void>();
  const metrics = new ServerMetrics(deps.model, {
    openStreams: () => connections.size,
    openUploads: () => uploads.size,
    inflightBatches: () => scheduler.inflight,
  });
  const context: StreamContext = {
    ...deps.context,
    observer: chainObservers(deps.context.observer, metrics.observer("stream")),
  };
  const uploadContext: StreamContext = {
    ...context,
    geometry: fileChunkGeometry(
      config.fileChunkS * 100,
      context.geometry.leftFrames,
      context.geometry.subsampling,
    ),
    tentative: false,
    maxBacklogFrames: Infinity,
    observer: chainObservers(deps.context.observer, metrics.observer("upload")),
  };
  const transcription: TranscriptionDeps = {
    maxUploadBytes: config.maxUploadBytes,
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
      uploads.get(s)?.({ type: "error", code: "internal_error", message });
    }
  };

  const access = deps.access ?? loadAccessPolicy(config);
  const refuse = (
    reason: string,
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

  const statusBody = () => ({
    status: draining ? "draining" : "ok",
    version: VERSION,
    model: deps.model,
    streams: { open: connections.size, capacity: config.maxStreams, total: stats.streamsTotal },
    batches: { run: stats.batches, failed: stats.batchFailures, inflight: scheduler.inflight },
    refused: stats.refused,
    knobs: {
      STEP_MS: config.stepMs,
      RIGHT_CONTEXT_MS: config.rightContextMs,
      LEFT_CONTEXT_MS: config.leftContextMs,
      MAX_BATCH: config.maxBatch,
      MAX_INFLIGHT_STEPS: config.maxInflightSteps,
      MAX_STREAMS: config.maxStreams,
      MAX_FRAME_BYTES: config.maxFrameBytes,
      MAX_BACKLOG_S: config.maxBacklogS,
      IDLE_TIMEOUT_S: config.idleTimeoutS,
    },
  });

  const handler = (req: Request): Response | Promise<Response> => {
    const url = new URL(req.url);
    // Before anything else, upgrades included; the demo's own files need no token.
    const denied = checkAccess(access, req, url, isStaticPath(url.pathname));
    if (denied) return refuse(denied.reason, denied.status, denied.message, denied.headers);
    if (url.pathname === "/status" && req.method === "GET") {
      return new Response("ok", { headers: { "content-type": "text/plain" } });
    }
    // Readiness for load balancers and Kubernetes: 503 while a new stream would be refused
    // (full or draining), so traffic goes to another instance; /status stays the liveness check.
    if (url.pathname === "/ready" && req.method === "GET") {
      const state = draining
        ? "draining"
        : connections.size >= config.maxStreams
        ? "full"
        : "ready";
      return new Response(`${state} (${connections.size}/${config.maxStreams} streams)\n`, {
        status: state === "ready" ? 200 : 503,
        headers: { "content-type": "text/plain" },
      });
    }
    if (url.pathname === "/v1/status" && req.method === "GET") {
      return Response.json(statusBody());
    }
    if (url.pathname === "/metrics" && req.method === "GET") {
      return new Response(metrics.render(), { headers: { "content-type": METRICS_CONTENT_TYPE } });
    }
    if (url.pathname === "/v1/audio/transcriptions") {
      if (draining) return refuse("shutting_down", 503, "The server is shutting down");
      if (uploads.size >= config.maxUploads) {
        return refuse(
          "uploads",
          503,
          `The server is transcribing ${config.maxUploads} files already (MAX_UPLOADS); retry later`,
        );
      }
      return handleTranscription(req, transcription);
    }
    if (url.pathname === "/ws") {
      if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return refuse("not_websocket", 426, "This endpoint speaks WebSocket only");
      }
      if (draining) return refuse("shutting_down", 503, "The server is shutting down");
      if (connections.size >= config.maxStreams) {
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
      const { socket, response } = Deno.upgradeWebSocket(req, { idleTimeout: 30 });
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
        const key = String(e.code);
        stats.closesByCode[key] = (stats.closesByCode[key] ?? 0) + 1;
        metrics.closes.inc(1, { code: key });
      });
      return response;
    }
    if (isStaticPath(url.pathname)) return serveStatic(req, url.pathname);
    return new Response("Not found\n", { status: 404 });
  };

  return new Promise((resolve) => {
    let listening: Deno.NetAddr | undefined;
    const server = Deno.serve({
      hostname: config.host,
      port: config.port,
      onListen: (addr) => {
        listening = addr;
      },
    }, handler);
    // onListen runs inside Deno.serve, before `server` exists: resolve once both are there.
    queueMicrotask(() => {
      resolve({
        hostname: listening!.hostname,
        port: listening!.port,
        shutdown,
        finished: server.finished,
        stats: () => ({ ...stats, openStreams: connections.size }),
      });
    });

    let shuttingDown: Promise<void> | null = null;
    function shutdown(): Promise<void> {
      shuttingDown ??= (async () => {
        draining = true;
        log(`shutting down: flushing finals of ${connections.size} open stream(s)`);
        for (const c of connections) c.endAfterFinal("shutting_down");
        const deadline = Date.now() + config.shutdownTimeoutS * 1000;
        while (connections.size > 0 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 20));
        }
        for (const c of connections) c.release();
        // A batch the engine never answers must not hold the process: bounded like the rest.
        const left = Math.max(0, deadline - Date.now());
        let timer: ReturnType<typeof setTimeout> | undefined;
        await Promise.race([
          scheduler.idle(),
          new Promise<void>((r) => (timer = setTimeout(r, left))),
        ]);
        clearTimeout(timer);
        await server.shutdown();
      })();
      return shuttingDown;
    }
    deps.signal?.addEventListener("abort", () => shutdown(), { once: true });
  });
}
