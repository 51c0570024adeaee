/**
 * `/ws`: admission of a WebSocket stream (the refusals: not an upgrade, draining, the client's
 * stream cap, the server's, a bad `endpoint_ms`, a bad handshake; for compressed audio a bad
 * `encoding`, no ffmpeg, every decoder slot taken), then the upgrade and the stream's connection.
 */
import { streamConnectionLimits } from "./connection_watch.ts";
import { upgradeWebSocket } from "../net/ws_upgrade.ts";
import { closeCodeLabel } from "../protocol/wire_errors.ts";
import { type StreamContext, StreamSession } from "../stream/stream_session.ts";
import { CAPACITY_RETRY_AFTER_S } from "./capacity.ts";
import type { ClientSlots } from "./client_slots.ts";
import type { Route, RouteRequest } from "./routes.ts";
import { openStreams, refuse, type ServerCore } from "./server_core.ts";
import { WsConnection } from "./ws_connection.ts";
import {
  admitEncoding,
  type EncodedContainer,
  type EncodingAdmission,
} from "./ws_encoding_admission.ts";
import { EncodedInput } from "./encoded_input.ts";
import { EncodedStreamSlots } from "./encoded_stream_slots.ts";
import { defaultFfmpeg } from "../audio/ffmpeg.ts";

export function wsRoute(
  core: ServerCore,
  context: StreamContext,
  clientSlots: ClientSlots,
): Route {
  const encoding: EncodingAdmission = {
    slots: new EncodedStreamSlots(core.config.maxEncodedStreams),
    ffmpegPath: defaultFfmpeg(),
    ffmpegFound: null,
  };
  return {
    path: "/ws",
    handle: async (r) => {
      if (r.req.headers.get("upgrade")?.toLowerCase() !== "websocket") {
        return refuse(core, "not_websocket", 426, "This endpoint speaks WebSocket only");
      }
      // Checked first, as the one wait of the admission: the checks below and the upgrade
      // then run with nothing awaited between them.
      const container = await admitEncoding(core, encoding, r.url);
      if (container instanceof Response) return container;
      return admitStream(core, context, clientSlots, r, container, encoding);
    },
  };
}

function admitStream(
  core: ServerCore,
  context: StreamContext,
  clientSlots: ClientSlots,
  { req, url, client }: RouteRequest,
  container: EncodedContainer,
  encoding: EncodingAdmission,
): Response {
  const { config, connections, metrics, scheduler, log } = core;
  if (core.draining) return refuse(core, "shutting_down", 503, "The server is shutting down");
  if (clientSlots.held(client) >= config.maxStreamsPerClient) {
    return refuse(
      core,
      "client_streams",
      503,
      `Your address holds ${config.maxStreamsPerClient} open streams already (MAX_STREAMS_PER_CLIENT); close one first`,
    );
  }
  if (openStreams(core) >= core.capacity.streams) {
    return refuse(
      core,
      "capacity",
      503,
      `The server is at capacity (${core.capacity.streams} open streams); retry later`,
      { "retry-after": String(CAPACITY_RETRY_AFTER_S) },
    );
  }
  const endpoint = url.searchParams.get("endpoint_ms");
  const endpointMs = endpoint === null ? config.endpointMs : Number(endpoint);
  if (!/^\d{1,5}$/.test(endpoint ?? "0") || endpointMs > 60_000) {
    // The client's value, as long as a request head allows: its start is enough to recognise.
    return refuse(
      core,
      "bad_request",
      400,
      `endpoint_ms must be a whole number of milliseconds from 0 to 60000, got "${
        endpoint?.slice(0, 50)
      }"`,
    );
  }
  if (container !== null && !encoding.slots.tryAcquire()) {
    return refuse(
      core,
      "encoded_streams",
      503,
      `The server decodes ${encoding.slots.max} streams of compressed audio already (MAX_ENCODED_STREAMS); retry later or send raw PCM`,
    );
  }
  // Liveness: a peer that sends nothing, not even a pong, for IDLE_TIMEOUT_S is closed 1001.
  const upgrade = upgradeWebSocket(req, {
    maxBinaryBytes: config.maxFrameBytes,
    maxTextBytes: config.maxTextBytes,
    idleTimeoutMs: config.idleTimeoutS * 1000,
  });
  if (!upgrade.ok) {
    if (container !== null) encoding.slots.release();
    return refuse(core, "bad_handshake", 400, `Bad WebSocket handshake: ${upgrade.reason}`);
  }
  const { socket, response } = upgrade;
  // Taken only once the upgrade is sure to go ahead (checked above, nothing awaited since).
  clientSlots.tryAcquire(client);
  const id = core.nextId();
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
      ...streamConnectionLimits(config),
    },
    {
      wake: () => scheduler.wake(),
      release: (c) => {
        connections.delete(c);
        clientSlots.release(client);
        scheduler.remove(c.session);
        metrics.droppedPartials.inc(c.droppedPartials);
        if (container !== null) encoding.slots.release();
      },
      error: (code) => metrics.errors.inc(1, { code }),
      log,
    },
    container === null ? undefined : (hooks) =>
      new EncodedInput(
        container,
        {
          maxOutputS: config.sessionMaxS,
          maxPendingBytes: config.maxEncodedBacklogBytes,
        },
        hooks,
        encoding.ffmpegPath,
      ),
  );
  connections.add(conn);
  scheduler.add(conn.session);
  metrics.streamsTotal.inc();
  socket.addEventListener("close", (e) => {
    // The client picks the code: an unlisted one is counted as "other", not as itself.
    metrics.closes.inc(1, { code: closeCodeLabel((e as CloseEvent).code) });
  });
  return response;
}
