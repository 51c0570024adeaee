/**
 * Writing a `Response` on an HTTP/1.1 connection: the head, then the body with Content-Length
 * when it is one chunk (most answers here), else chunked (HTTP/1.0: until the connection
 * closes).
 */
const encoder = new TextEncoder();

/** Headers the connection layer owns; a handler's own values for them are dropped. */
const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "transfer-encoding",
  "content-length",
  "upgrade",
]);

export type Framing =
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "close" }
  | { kind: "none" };

/** The status line and header block, ending with the blank line. */
export function responseHead(
  status: number,
  statusText: string,
  headers: Iterable<[string, string]>,
  framing: Framing,
  keepAlive: boolean,
): Uint8Array {
  let head = `HTTP/1.1 ${status} ${statusText || reasonPhrase(status)}\r\n`;
  let hasDate = false;
  for (const [name, value] of headers) {
    if (HOP_BY_HOP.has(name)) continue;
    if (name === "date") hasDate = true;
    head += `${name}: ${value}\r\n`;
  }
  if (!hasDate) head += `date: ${new Date().toUTCString()}\r\n`;
  if (framing.kind === "length") head += `content-length: ${framing.length}\r\n`;
  if (framing.kind === "chunked") head += "transfer-encoding: chunked\r\n";
  head += keepAlive ? "" : "connection: close\r\n";
  return encoder.encode(head + "\r\n");
}

/** A complete small plain-text answer the layer sends itself (refusals, timeouts, errors). */
export function cannedResponse(
  status: number,
  message: string,
  extra: Record<string, string> = {},
): Uint8Array {
  const body = encoder.encode(message + "\n");
  const head = responseHead(
    status,
    "",
    Object.entries({ "content-type": "text/plain; charset=utf-8", ...extra }),
    { kind: "length", length: body.length },
    false,
  );
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

export function chunkFrame(data: Uint8Array): Uint8Array {
  const size = encoder.encode(data.length.toString(16) + "\r\n");
  const out = new Uint8Array(size.length + data.length + 2);
  out.set(size);
  out.set(data, size.length);
  out.set([13, 10], size.length + data.length);
  return out;
}

export const LAST_CHUNK = encoder.encode("0\r\n\r\n");

/** Statuses that never carry a body (RFC 9110 §6.4.1). */
export function bodyless(status: number, method: string): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

const REASONS: Record<number, string> = {
  101: "Switching Protocols",
  200: "OK",
  201: "Created",
  204: "No Content",
  206: "Partial Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  401: "Unauthorized",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  408: "Request Timeout",
  411: "Length Required",
  413: "Content Too Large",
  415: "Unsupported Media Type",
  426: "Upgrade Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
  503: "Service Unavailable",
  505: "HTTP Version Not Supported",
};

export function reasonPhrase(status: number): string {
  return REASONS[status] ?? "Unknown";
}

/** The interim answer to `Expect: 100-continue`, sent when the handler first reads the body. */
export const CONTINUE = encoder.encode("HTTP/1.1 100 Continue\r\n\r\n");

/**
 * The 101 that hands the connection to a WebSocket, naming the subprotocol the route chose
 * (one the client offered; browsers fail a handshake that names none when they offered some).
 */
export function switchingProtocols(accept: string, protocol?: string): Uint8Array {
  if (protocol !== undefined && !/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(protocol)) {
    throw new RangeError(
      `a WebSocket subprotocol must be an HTTP token, got ${JSON.stringify(protocol)}`,
    );
  }
  return encoder.encode(
    "HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\n" +
      `sec-websocket-accept: ${accept}\r\n` +
      (protocol !== undefined ? `sec-websocket-protocol: ${protocol}\r\n` : "") + "\r\n",
  );
}
