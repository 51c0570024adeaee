/**
 * Why a request was refused before any work started: the label values of
 * `parakeet_refused_total` and the keys of `/v1/status` `refused`. A closed list, so no request
 * can add a series.
 */
export const REFUSAL_REASONS = [
  /** No token, a malformed one, or a wrong one (401). */
  "unauthorized",
  /** Too many failed token attempts from the client's address (429). */
  "auth_rate_limited",
  /** A browser page of another origin, not in ALLOWED_ORIGINS (403). */
  "forbidden_origin",
  /** Every stream slot is taken (503). */
  "capacity",
  /** The client's address holds MAX_STREAMS_PER_CLIENT streams already (503). */
  "client_streams",
  /** MAX_UPLOADS files are being transcribed already (503). */
  "uploads",
  /** The server is draining (503). */
  "shutting_down",
  /** `/ws` without a WebSocket upgrade (426). */
  "not_websocket",
  /** A WebSocket upgrade request that breaks RFC 6455 (no Sec-WebSocket-Key…) (400). */
  "bad_handshake",
  /** A query parameter out of range (400). */
  "bad_request",
  /** MAX_ENCODED_STREAMS streams of compressed audio are being decoded already (503). */
  "encoded_streams",
  /** A compressed `encoding` on a server that cannot run ffmpeg (501). */
  "no_decoder",
] as const;

export type RefusalReason = typeof REFUSAL_REASONS[number];
