/**
 * `GET /v1/realtime?intent=transcription` upgraded to a WebSocket: OpenAI's Realtime API for
 * transcription sessions, the way `client.realtime.connect(extra_query={"intent":
 * "transcription"})` of the official SDKs reaches it (no subprotocol; the token, when the server
 * has one, in `Authorization: Bearer`, checked before any route like every request's). Each
 * connection holds one stream slot, counted with `/ws` streams against MAX_STREAMS and
 * MAX_STREAMS_PER_CLIENT.
 */
import { streamConnectionLimits } from "./connection_watch.ts";
import { offeredProtocols, upgradeWebSocket } from "../net/ws_upgrade.ts";
import { CAPACITY_RETRY_AFTER_S } from "./capacity.ts";
import { DEFAULT_SILENCE_MS, type ServerVad } from "../realtime/realtime_events.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import type { ClientSlots } from "./client_slots.ts";
import type { ServerConfig } from "./config.ts";
import { RealtimeConnection } from "./realtime_connection.ts";
import type { RefusalReason } from "./refusals.ts";

/** The subprotocol OpenAI's browser Realtime clients offer and expect back. */
const REALTIME_SUBPROTOCOL = "realtime";
import { inferenceFailedMessage } from "./ws_connection.ts";

export interface RealtimeRouteDeps {
  config: ServerConfig;
  /** The served model's name, which every session reports as its transcription model. */
  model: string;
  /** A live stream's context. */
  context: StreamContext;
  scheduler: { add(s: StreamSession): void; remove(s: StreamSession): void; wake(): void };
  clientSlots: ClientSlots;
  /** Stream slots in use over every endpoint. */
  openStreams(): number;
  /** Stream slots there are (MAX_STREAMS, or measured). */
  capacity(): number;
  draining(): boolean;
  nextId(): number;
  refuse(
    reason: RefusalReason,
    status: number,
    message: string,
    headers?: Record<string, string>,
  ): Response;
  /** A connection opened (for the stream counters). */
  opened?(): void;
  /** A connection's socket closed with this code (for the close counters). */
  closed?(code: number): void;
  log(line: string): void;
}

/** Room in a text frame around an append's base64 audio (the JSON envelope, an event_id). */
const EVENT_ENVELOPE_BYTES = 4096;

export class RealtimeRoute {
  readonly #deps: RealtimeRouteDeps;
  readonly connections = new Set<RealtimeConnection>();

  constructor(deps: RealtimeRouteDeps) {
    this.#deps = deps;
  }

  get size(): number {
    return this.connections.size;
  }

  handle(req: Request, url: URL, client: string): Response {
    const { config, refuse } = this.#deps;
    if (req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
      return refuse("not_websocket", 426, "This endpoint speaks WebSocket only");
    }
    const intent = url.searchParams.get("intent");
    if (intent !== null && intent !== "transcription") {
      // The client's value, as long as a request head allows: its start is enough to recognise.
      return refuse(
        "bad_request",
        400,
        `This server runs transcription sessions only: intent must be "transcription", got "${
          intent.slice(0, 50)
        }"`,
      );
    }
    if (this.#deps.draining()) return refuse("shutting_down", 503, "The server is shutting down");
    if (this.#deps.clientSlots.held(client) >= config.maxStreamsPerClient) {
      return refuse(
        "client_streams",
        503,
        `Your address holds ${config.maxStreamsPerClient} open streams already (MAX_STREAMS_PER_CLIENT); close one first`,
      );
    }
    const capacity = this.#deps.capacity();
    if (this.#deps.openStreams() >= capacity) {
      return refuse(
        "capacity",
        503,
        `The server is at capacity (${capacity} open streams); retry later`,
        { "retry-after": String(CAPACITY_RETRY_AFTER_S) },
      );
    }
    // An append carries at most MAX_FRAME_BYTES of audio, as a /ws binary frame does.
    const maxAppendBytes = config.maxFrameBytes;
    const maxEventBytes = Math.ceil(maxAppendBytes / 3) * 4 + EVENT_ENVELOPE_BYTES;
    // OpenAI's browser clients offer the "realtime" subprotocol (beside their key) and fail a
    // handshake that does not answer with it; the SDKs' server-side clients offer none.
    const upgrade = upgradeWebSocket(
      req,
      {
        maxBinaryBytes: config.maxFrameBytes,
        maxTextBytes: maxEventBytes,
        idleTimeoutMs: config.idleTimeoutS * 1000,
      },
      offeredProtocols(req).includes(REALTIME_SUBPROTOCOL) ? REALTIME_SUBPROTOCOL : undefined,
    );
    if (!upgrade.ok) {
      return refuse("bad_handshake", 400, `Bad WebSocket handshake: ${upgrade.reason}`);
    }
    const { socket, response } = upgrade;
    this.#deps.clientSlots.tryAcquire(client);
    const id = this.#deps.nextId();
    const { context, scheduler } = this.#deps;
    const extractor = context.extractor.config;
    // A failed batch reaches the connection through its session.
    let failed: (message: string) => void = () => {};
    const conn = new RealtimeConnection(
      socket,
      (send) => {
        const s = new StreamSession(id, context, send);
        s.onWarning = this.#deps.log;
        s.onBatchFailed = (error) => failed(inferenceFailedMessage(error));
        return s;
      },
      {
        model: this.#deps.model,
        turnDetection: defaultTurnDetection(config.endpointMs),
        maxBacklogFrames: context.maxBacklogFrames,
        secondsPerFrame: extractor.hopLength / extractor.sampleRate,
      },
      {
        maxEventBytes,
        maxAppendBytes,
        ...streamConnectionLimits(config),
      },
      {
        wake: () => scheduler.wake(),
        release: (c) => {
          this.connections.delete(c);
          this.#deps.clientSlots.release(client);
          scheduler.remove(c.session);
        },
        log: this.#deps.log,
      },
    );
    socket.addEventListener("close", (e) => this.#deps.closed?.((e as CloseEvent).code));
    failed = (message) => conn.decodeFailed(message);
    this.connections.add(conn);
    scheduler.add(conn.session);
    this.#deps.opened?.();
    return response;
  }

  /** Shutdown: every connection finishes its committed items and closes. */
  drainAll(): void {
    for (const c of this.connections) c.drain();
  }

  releaseAll(): void {
    for (const c of this.connections) c.release();
  }
}

/** OpenAI's default for transcription sessions is server VAD; ENDPOINT_MS sets its pause. */
function defaultTurnDetection(endpointMs: number): ServerVad {
  return {
    type: "server_vad",
    silence_duration_ms: endpointMs > 0 ? endpointMs : DEFAULT_SILENCE_MS,
    threshold: 0.5,
    prefix_padding_ms: 300,
  };
}
