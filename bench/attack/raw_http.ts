/** HTTP/1.1 by hand over a LoopbackSocket, for requests no HTTP client would send. */
import { LoopbackSocket } from "./loopback_socket.ts";

export interface RawResponse {
  status: number;
  headers: Record<string, string>;
  body: string;
  /** performance.now() when the head arrived. */
  at: number;
}

/** What came back for a request: a response, the connection ended first, or nothing in time. */
export type RawOutcome = RawResponse | "closed" | "timeout";

const text = new TextDecoder();

/**
 * Reads one response (its head, then a Content-Length or chunked body) within `timeoutMs`.
 * Bytes after it stay unread: the caller only watches whether the connection ends.
 */
export async function readResponse(sock: LoopbackSocket, timeoutMs: number): Promise<RawOutcome> {
  const deadline = performance.now() + timeoutMs;
  let got = "";
  let head: Omit<RawResponse, "body"> | null = null;
  let bodyStart = 0;
  for (;;) {
    if (head) {
      const body = got.slice(bodyStart);
      const length = head.headers["content-length"];
      if (length !== undefined && body.length >= Number(length)) {
        return { ...head, body: body.slice(0, Number(length)) };
      }
      if (head.headers["transfer-encoding"] === "chunked" && body.includes("0\r\n\r\n")) {
        return { ...head, body: dechunk(body) };
      }
      if (length === undefined && head.headers["transfer-encoding"] === undefined) {
        return { ...head, body };
      }
    }
    const chunk = await sock.next(Math.max(0, deadline - performance.now()));
    if (chunk === "timeout") return head ? { ...head, body: got.slice(bodyStart) } : "timeout";
    if (chunk === null) return head ? { ...head, body: got.slice(bodyStart) } : "closed";
    got += text.decode(chunk);
    if (!head) {
      const end = got.indexOf("\r\n\r\n");
      if (end < 0) continue;
      const [statusLine, ...lines] = got.slice(0, end).split("\r\n");
      const headers: Record<string, string> = {};
      for (const line of lines) {
        const colon = line.indexOf(":");
        if (colon > 0) {
          headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
        }
      }
      head = { status: Number(statusLine.split(" ")[1] ?? 0), headers, at: performance.now() };
      bodyStart = end + 4;
    }
  }
}

function dechunk(body: string): string {
  let out = "";
  let at = 0;
  for (;;) {
    const eol = body.indexOf("\r\n", at);
    const size = parseInt(body.slice(at, eol), 16);
    if (!(size > 0)) return out;
    out += body.slice(eol + 2, eol + 2 + size);
    at = eol + 2 + size + 2;
  }
}

/** Connects from `source`, writes `request` as it is, and reads the response. */
export async function rawRequest(
  source: string,
  port: number,
  request: string,
  timeoutMs: number,
): Promise<{ sock: LoopbackSocket; outcome: RawOutcome }> {
  const sock = await LoopbackSocket.connect(source, port);
  try {
    await sock.write(new TextEncoder().encode(request));
  } catch {
    // The server may end the connection before reading it: the outcome says so.
  }
  return { sock, outcome: await readResponse(sock, timeoutMs) };
}

/** A short label for an outcome: "503", "closed", "timeout". */
export function outcomeLabel(o: RawOutcome): string {
  return typeof o === "string" ? o : String(o.status);
}

/** Counts of each label, e.g. { "200": 8, "503": 4 }. */
export function tally(labels: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of labels) out[l] = (out[l] ?? 0) + 1;
  return out;
}
