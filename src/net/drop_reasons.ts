/**
 * Every way the connection layer refuses or ends a connection on its own: the closed set of
 * values of the `reason` label on `parakeet_connection_drops_total`.
 */
export const DROP_REASONS = [
  "max_connections",
  "max_connections_per_client",
  "header_timeout",
  "keepalive_timeout",
  "body_timeout",
  "write_timeout",
  "head_too_large",
  "bad_request",
  "accept_error",
  "ws_no_pong",
  "ws_protocol_error",
  "shutdown",
] as const;

export type DropReason = typeof DROP_REASONS[number];
