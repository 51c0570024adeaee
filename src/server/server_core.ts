/**
 * What the routes and the drain share: the configuration, the scheduler, the metrics, the open
 * streams and uploads, and whether the server is draining. One object built by `startServer`.
 */
import type { StreamCapacity } from "./capacity.ts";
import type { BatchScheduler } from "../stream/batch_scheduler.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import type { ServerConfig } from "./config.ts";
import type { RefusalReason } from "./refusals.ts";
import type { ServerMetrics } from "./server_metrics.ts";
import type { UploadSlots } from "./upload_slots.ts";
import type { WsConnection } from "./ws_connection.ts";
import type { WyomingListener } from "../wyoming/wyoming_listener.ts";
import type { RealtimeRoute } from "./realtime_route.ts";

export interface ServerCore {
  readonly config: ServerConfig;
  readonly log: (line: string) => void;
  readonly scheduler: BatchScheduler;
  readonly metrics: ServerMetrics;
  /** Open WebSocket streams, until released. */
  readonly connections: Set<WsConnection>;
  /** Uploaded files being decoded. */
  readonly uploads: Set<StreamSession>;
  /** MAX_UPLOADS: held from before an upload's body is read until its response is ready. */
  readonly uploadSlots: UploadSlots;
  /** Aborted when the drain starts: uploads in progress stop and are answered 503. */
  readonly drain: AbortController;
  /** True from the start of the drain: new streams and uploads are refused. */
  draining: boolean;
  /** A fresh stream id (WebSocket streams and uploads share the sequence). */
  nextId(): number;
  /** The Wyoming listener, when WYOMING_PORT is set; drained with the streams. */
  wyoming: WyomingListener | null;
  /** How many WebSocket streams are admitted at once (MAX_STREAMS, or measured). */
  readonly capacity: StreamCapacity;
  /** OpenAI Realtime transcription connections: stream slots shared with `/ws`. */
  realtime: RealtimeRoute | null;
}

/** Stream slots in use over every endpoint (`/ws` and `/v1/realtime`), against MAX_STREAMS. */
export function openStreams(core: ServerCore): number {
  return core.connections.size + (core.realtime?.size ?? 0);
}

/** Counts a refusal (`parakeet_refused_total`) and answers it in plain text. */
export function refuse(
  core: ServerCore,
  reason: RefusalReason,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): Response {
  core.metrics.refused.inc(1, { reason });
  return new Response(message + "\n", {
    status,
    headers: { "content-type": "text/plain", ...headers },
  });
}
