/**
 * The head of an HTTP/1.1 request (request line and header fields, RFC 9112 §2–5), parsed from
 * bytes that end with the blank line. Strict where leniency lets one request be read two ways:
 * no obsolete line folding, no whitespace before a colon, CRLF line ends only.
 */
export interface RequestHead {
  method: string;
  target: string;
  /** 1.0 or 1.1 (HTTP/2 prior knowledge and 0.9 are refused). */
  minor: 0 | 1;
  headers: [string, string][];
}

export type HeadResult = { ok: true; head: RequestHead } | { ok: false; error: string };

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
/** Field values: visible ASCII, obs-text, spaces and tabs; never CR, LF or NUL. */
const FIELD_VALUE = /^[\t\x20-\x7e\x80-\xff]*$/;
const TARGET = /^[\x21-\x7e]+$/;

/** Index just past the first CRLFCRLF at or after `from`, or -1. */
export function findHeadEnd(bytes: Uint8Array, from = 0): number {
  for (let i = Math.max(0, from - 3); i + 3 < bytes.length; i++) {
    if (bytes[i] === 13 && bytes[i + 1] === 10 && bytes[i + 2] === 13 && bytes[i + 3] === 10) {
      return i + 4;
    }
  }
  return -1;
}

/** Bytes to skip before a request: RFC 9112 §2.2 lets a server ignore CRLFs between requests. */
export function leadingBlankLines(bytes: Uint8Array): number {
  let i = 0;
  while (i + 1 < bytes.length && bytes[i] === 13 && bytes[i + 1] === 10) i += 2;
  return i;
}

export function parseRequestHead(bytes: Uint8Array): HeadResult {
  // latin1: every byte maps to one code unit, so nothing is lost and nothing throws.
  const text = new TextDecoder("latin1").decode(bytes);
  const lines = text.split("\r\n");
  // The head ends with CRLFCRLF: the last two split pieces are empty.
  while (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  const requestLine = lines.shift() ?? "";
  const parts = requestLine.split(" ");
  if (parts.length !== 3) return fail("malformed request line");
  const [method, target, version] = parts;
  if (!TOKEN.test(method)) return fail("malformed method");
  if (!TARGET.test(target)) return fail("malformed request target");
  if (version !== "HTTP/1.1" && version !== "HTTP/1.0") return fail(`unsupported ${version}`);
  const headers: [string, string][] = [];
  for (const line of lines) {
    if (line.includes("\n") || line.includes("\r")) return fail("bare CR or LF in a header");
    if (line[0] === " " || line[0] === "\t") return fail("obsolete header line folding");
    const colon = line.indexOf(":");
    if (colon <= 0) return fail("header line without a name");
    const name = line.slice(0, colon);
    if (!TOKEN.test(name)) return fail("malformed header name");
    const value = line.slice(colon + 1).replace(/^[ \t]+|[ \t]+$/g, "");
    if (!FIELD_VALUE.test(value)) return fail("control character in a header value");
    headers.push([name, value]);
  }
  return { ok: true, head: { method, target, minor: version === "HTTP/1.1" ? 1 : 0, headers } };
}

function fail(error: string): HeadResult {
  return { ok: false, error };
}

/** How the body of a request is delimited (RFC 9112 §6.3), or why it cannot be read safely. */
export type BodyFraming =
  | { kind: "none" }
  | { kind: "length"; length: number }
  | { kind: "chunked" }
  | { kind: "invalid"; error: string };

export function bodyFraming(headers: Headers): BodyFraming {
  const te = headers.get("transfer-encoding");
  const cl = headers.get("content-length");
  if (te !== null) {
    // Both at once is how requests are smuggled past a proxy: refuse rather than pick one.
    if (cl !== null) return { kind: "invalid", error: "both Transfer-Encoding and Content-Length" };
    if (te.trim().toLowerCase() !== "chunked") {
      return { kind: "invalid", error: `unsupported Transfer-Encoding "${te}"` };
    }
    return { kind: "chunked" };
  }
  if (cl === null) return { kind: "none" };
  // Repeated fields are joined by ", "; identical repeats are allowed (RFC 9110 §8.6).
  const values = new Set(cl.split(",").map((v) => v.trim()));
  const [only] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(only)) {
    return { kind: "invalid", error: `malformed Content-Length "${cl}"` };
  }
  const length = Number(only);
  return length === 0 ? { kind: "none" } : { kind: "length", length };
}

/** Whether the connection may carry another request after this one. */
export function wantsKeepAlive(minor: 0 | 1, headers: Headers): boolean {
  const tokens = (headers.get("connection") ?? "").toLowerCase().split(",").map((t) => t.trim());
  if (tokens.includes("close")) return false;
  return minor === 1 || tokens.includes("keep-alive");
}

/**
 * A Host value (RFC 9112 §3.2: uri-host [ ":" port ]). Anything else is refused, not handed to
 * the URL parser: a "/", "?", "#" or "\" there would move the path the routes see (an "@" the
 * host), and two Host lines join into a value with a space.
 */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-._~%!$&'()*+,;=]+)(?::\d*)?$/;

/** The request's URL from its target (origin or absolute form) and Host; null when malformed. */
export function requestUrl(target: string, headers: Headers, local: Deno.NetAddr): URL | null {
  try {
    if (target.startsWith("/")) {
      const field = headers.get("host");
      if (field && !HOST.test(field)) return null;
      // An HTTP/1.0 request may have no Host: the listener's address stands in (bracketed
      // when it is IPv6, or it makes no URL).
      const listener = local.hostname.includes(":") ? `[${local.hostname}]` : local.hostname;
      const host = field || `${listener}:${local.port}`;
      return new URL(`http://${host}${target}`);
    }
    if (/^https?:\/\//i.test(target)) return new URL(target);
  } catch {
    return null;
  }
  return null;
}
