/**
 * The upgrade routes run without a server: a ServerCore with every slot free (no model, no
 * scheduler, metrics that only record refusals), Realtime route dependencies of the same kind,
 * and upgrade requests built in memory that the routes may upgrade.
 */
import { allowUpgrade } from "../../src/net/ws_upgrade.ts";
import { ClientSlots } from "../../src/server/client_slots.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { RealtimeRoute } from "../../src/server/realtime_route.ts";
import type { RefusalReason } from "../../src/server/refusals.ts";
import type { ServerCore } from "../../src/server/server_core.ts";
import type { WsConnection } from "../../src/server/ws_connection.ts";
import type { StreamContext } from "../../src/stream/stream_session.ts";

/** Enough of a stream context for a connection to be built (no audio is ever decoded). */
export const ROUTE_CONTEXT = {
  extractor: { config: { hopLength: 160, sampleRate: 16000 } },
  maxBacklogFrames: 1000,
} as unknown as StreamContext;

export function fakeCore(env: Record<string, string> = {}) {
  const config = loadServerConfig(env);
  const refused: RefusalReason[] = [];
  let id = 0;
  const counter = { inc: () => {} };
  const connections = new Set<WsConnection>();
  const core = {
    config,
    log: () => {},
    scheduler: { add: () => {}, remove: () => {}, wake: () => {} },
    metrics: {
      refused: { inc: (_n: number, l: { reason: RefusalReason }) => refused.push(l.reason) },
      streamsTotal: counter,
      errors: counter,
      closes: counter,
      droppedPartials: counter,
    },
    connections,
    uploads: new Set(),
    draining: false,
    nextId: () => ++id,
    wyoming: null,
    capacity: { streams: 1_000_000 },
    realtime: null,
  };
  return {
    core: core as unknown as ServerCore,
    refused,
    connections,
    clientSlots: new ClientSlots(config.maxStreamsPerClient),
  };
}

export function fakeRealtimeRoute(env: Record<string, string> = {}) {
  const config = loadServerConfig(env);
  const refused: RefusalReason[] = [];
  const clientSlots = new ClientSlots(config.maxStreamsPerClient);
  let id = 0;
  const route = new RealtimeRoute({
    config,
    model: "parakeet-test",
    context: ROUTE_CONTEXT,
    scheduler: { add: () => {}, remove: () => {}, wake: () => {} },
    clientSlots,
    openStreams: () => 0,
    capacity: () => 1_000_000,
    draining: () => false,
    nextId: () => ++id,
    refuse: (reason, status, message, headers) => {
      refused.push(reason);
      return new Response(message + "\n", { status, headers });
    },
    log: () => {},
  });
  return { route, refused, clientSlots };
}

export const UPGRADE_HEADERS: Record<string, string> = {
  upgrade: "websocket",
  connection: "Upgrade",
  "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ==",
  "sec-websocket-version": "13",
};

/** A request as our HTTP layer hands it to a route, free to be upgraded. */
export function upgradeRequest(path: string, headers: HeadersInit = UPGRADE_HEADERS): Request {
  const req = new Request(`http://127.0.0.1:8000${path}`, { headers });
  allowUpgrade(req);
  return req;
}
