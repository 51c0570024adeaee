/**
 * `upgradeWebSocket(req)`, in the shape of `Deno.upgradeWebSocket` for requests our HTTP layer
 * read: the handler gets a socket and a response to return; returning that response makes the
 * layer write the 101 and hand the connection to the socket. A bad handshake is a result, not
 * an exception, so the handler answers 400 with no stack trace.
 */
import { acceptKey, checkHandshake } from "./ws_handshake.ts";
import { ServerWebSocket, type SocketOptions } from "./ws_socket.ts";

/** Requests that came through our layer (only those can be upgraded). */
const upgradable = new WeakSet<Request>();
/** Responses that stand for a 101, and the socket each one opens. */
const pending = new WeakMap<Response, Upgrade>();

interface Upgrade {
  socket: ServerWebSocket;
  accept: string;
  /** The subprotocol the 101 names, if the route chose one. */
  protocol?: string;
}

export type UpgradeResult =
  | { ok: true; socket: ServerWebSocket; response: Response }
  | { ok: false; reason: string };

/**
 * Subprotocols the client offered (`Sec-WebSocket-Protocol`, comma-separated, in its order).
 */
export function offeredProtocols(req: Request): string[] {
  const header = req.headers.get("sec-websocket-protocol");
  if (header === null) return [];
  return header.split(",").map((p) => p.trim()).filter((p) => p !== "");
}

/** `protocol`: the subprotocol to answer with; it must be one the client offered. */
export function upgradeWebSocket(
  req: Request,
  options: SocketOptions,
  protocol?: string,
): UpgradeResult {
  if (!upgradable.has(req)) {
    throw new TypeError("upgradeWebSocket: the request did not come from serveHttp");
  }
  const check = checkHandshake(req.method, req.headers);
  if (!check.ok) return check;
  if (protocol !== undefined && !offeredProtocols(req).includes(protocol)) {
    throw new RangeError(`upgradeWebSocket: the client did not offer subprotocol ${protocol}`);
  }
  const socket = new ServerWebSocket(options);
  // A 101 cannot be built with `new Response`; this placeholder stands for it.
  const response = new Response(null, { status: 200 });
  pending.set(response, { socket, accept: acceptKey(check.key), protocol });
  return { ok: true, socket, response };
}

/** For the HTTP layer: this request may be upgraded. */
export function allowUpgrade(req: Request): void {
  upgradable.add(req);
}

/** For the HTTP layer: the socket a returned response opens, if it stands for a 101. */
export function takeUpgrade(res: Response): Upgrade | undefined {
  const up = pending.get(res);
  pending.delete(res);
  return up;
}
