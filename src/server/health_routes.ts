/**
 * Health and state: `GET /status` (liveness), `GET /ready` (readiness for load balancers),
 * `GET /v1/status` (the server's state as JSON).
 */
import { VERSION } from "../version.ts";
import type { AccessPolicy } from "./auth.ts";
import type { Route } from "./routes.ts";
import { openStreams, type ServerCore } from "./server_core.ts";
import type { ModelDescription, ServerStats } from "./server.ts";

export interface HealthDeps {
  model: ModelDescription;
  access: AccessPolicy;
  /** The connection cap in force: MAX_CONNECTIONS, clamped below the open-file limit. */
  maxConnections: number;
  /** Inference lanes, each running one batch at a time. */
  lanes: number;
  stats(): ServerStats;
}

export function healthRoutes(core: ServerCore, deps: HealthDeps): Route[] {
  return [
    {
      method: "GET",
      path: "/status",
      handle: () => new Response("ok", { headers: { "content-type": "text/plain" } }),
    },
    {
      // Readiness for load balancers and Kubernetes: 503 while a new stream would be refused
      // (full or draining), so traffic goes to another instance; /status stays the liveness
      // check.
      method: "GET",
      path: "/ready",
      handle: () => {
        const capacity = core.capacity.streams;
        const open = openStreams(core);
        const state = core.draining ? "draining" : open >= capacity ? "full" : "ready";
        return new Response(`${state} (${open}/${capacity} streams)\n`, {
          status: state === "ready" ? 200 : 503,
          headers: { "content-type": "text/plain" },
        });
      },
    },
    { method: "GET", path: "/v1/status", handle: () => Response.json(statusBody(core, deps)) },
  ];
}

function statusBody(core: ServerCore, deps: HealthDeps) {
  const { config } = core;
  const counts = deps.stats();
  return {
    status: core.draining ? "draining" : "ok",
    version: VERSION,
    // Where files are is for the operator: only a caller with a token (there is none to present
    // without AUTH_TOKEN) sees the full path, everyone else the directory's name.
    model: deps.access.tokens.length > 0
      ? deps.model
      : { ...deps.model, dir: baseName(deps.model.dir) },
    streams: {
      open: openStreams(core),
      capacity: core.capacity.streams,
      total: counts.streamsTotal,
    },
    // How the stream capacity was had: MAX_STREAMS, or measured step costs (MAX_STREAMS=auto).
    capacity: core.capacity.status(),
    // running: slots held (body arriving, decoding or transcribing); transcribing: in inference.
    uploads: {
      running: core.uploadSlots.inUse,
      transcribing: core.uploads.size,
      capacity: config.maxUploads,
    },
    batches: {
      run: counts.batches,
      failed: counts.batchFailures,
      inflight: core.scheduler.inflight,
      lanes: deps.lanes,
    },
    refused: counts.refused,
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
      MAX_CONNECTIONS: deps.maxConnections,
      MAX_CONNECTIONS_PER_CLIENT: config.maxConnectionsPerClient,
      HEADER_TIMEOUT_S: config.headerTimeoutS,
      BODY_TIMEOUT_S: config.bodyTimeoutS,
      BODY_MIN_BYTES_PER_S: config.bodyMinBytesPerS,
      KEEPALIVE_TIMEOUT_S: config.keepAliveTimeoutS,
    },
  };
}

/** The last component of a path: a directory's name without where it is. */
function baseName(path: string): string {
  return path.replace(/[/\\]+$/, "").split(/[/\\]/).pop() || path;
}
