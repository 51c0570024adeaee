/**
 * Access control, off by default: bearer tokens (`AUTH_TOKEN`, `AUTH_TOKEN_FILE`) and an
 * allow-list of browser origins (`ALLOWED_ORIGINS`). Both are decided before any work: before
 * the WebSocket upgrade, before an upload is read. A token is never logged, echoed or put in a
 * message; comparisons take the same time wherever the first differing byte is.
 */
import { ConfigError } from "./config.ts";
import type { RefusalReason } from "./refusals.ts";

export interface AccessPolicy {
  /** Accepted tokens as UTF-8 bytes; empty = no token needed. */
  tokens: Uint8Array[];
  /** Accepted `Origin` values (serialized origins); null = any origin. */
  origins: ReadonlySet<string> | null;
}

/** Paths anyone may fetch: health checks for load balancers, which cannot hold a token. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/status", "/ready"]);

export interface AccessKnobs {
  authToken: string | null;
  authTokenFile: string | null;
  allowedOrigins: string | null;
}

/**
 * Builds the policy from the knobs, reading the token file once. Every bad value is a
 * ConfigError naming the knob (and the line, for the file) but never the token itself.
 */
export function loadAccessPolicy(
  knobs: AccessKnobs,
  readTextFile: (path: string) => string = Deno.readTextFileSync,
): AccessPolicy {
  const tokens: string[] = [];
  if (knobs.authToken !== null && knobs.authToken !== "") {
    checkToken(knobs.authToken, "AUTH_TOKEN");
    tokens.push(knobs.authToken);
  }
  if (knobs.authTokenFile !== null && knobs.authTokenFile !== "") {
    const path = knobs.authTokenFile;
    let text: string;
    try {
      text = readTextFile(path);
    } catch (err) {
      throw new ConfigError(
        `AUTH_TOKEN_FILE: cannot read "${path}" (${
          (err as Error).message
        }); give a readable file with one token per line`,
      );
    }
    const before = tokens.length;
    text.split(/\r?\n/).forEach((raw, i) => {
      const line = raw.trim();
      if (line === "" || line.startsWith("#")) return;
      checkToken(line, `AUTH_TOKEN_FILE "${path}" line ${i + 1}`);
      tokens.push(line);
    });
    if (tokens.length === before) {
      throw new ConfigError(
        `AUTH_TOKEN_FILE "${path}" holds no token; expected one token per line (blank lines and # comments are skipped)`,
      );
    }
  }
  return {
    tokens: tokens.map((t) => new TextEncoder().encode(t)),
    origins: parseOrigins(knobs.allowedOrigins),
  };
}

/** Tokens travel in a header and a query string: printable ASCII without spaces only. */
function checkToken(token: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(
      `${where}: a token must be printable ASCII without spaces or control characters (e.g. from \`openssl rand -hex 32\`); got one of ${token.length} characters that is not`,
    );
  }
}

function parseOrigins(value: string | null): ReadonlySet<string> | null {
  if (value === null || value.trim() === "") return null;
  const origins = new Set<string>();
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "*") return null;
    let url: URL | null = null;
    try {
      url = new URL(entry);
    } catch {
      // reported below
    }
    const bare = url !== null && (url.protocol === "http:" || url.protocol === "https:") &&
      url.username === "" && url.password === "" && url.pathname === "/" && url.search === "" &&
      url.hash === "";
    if (!bare) {
      throw new ConfigError(
        `ALLOWED_ORIGINS: "${entry}" is not an origin; expected scheme://host[:port] with http or https and no path, e.g. https://app.example.com,http://localhost:8000`,
      );
    }
    origins.add(url!.origin);
  }
  return origins.size > 0 ? origins : null;
}

/**
 * Compares two byte strings in time that depends only on the length of `given` (which the
 * caller sent, so knows), never on where they differ or on the length of `expected`. JIT
 * compilers make no promises, but there is no early exit and no data-dependent branch.
 */
export function timingSafeEqual(given: Uint8Array, expected: Uint8Array): boolean {
  let diff = given.length ^ expected.length;
  const n = expected.length;
  for (let i = 0; i < given.length; i++) {
    // Indexing modulo the expected length keeps every read in bounds without a branch.
    diff |= given[i] ^ (n > 0 ? expected[i % n] : 0);
  }
  return diff === 0;
}

export interface AccessRefusal {
  status: 401 | 403;
  /** For the refusal counters. */
  reason: RefusalReason;
  message: string;
  headers: Record<string, string>;
}

const REALM = 'Bearer realm="parakeet-server"';

/**
 * Null when the request may go on, else why not. `publicPath` requests (the demo page's own
 * files) need no token, but still a permitted origin.
 */
export function checkAccess(
  policy: AccessPolicy,
  req: Request,
  url: URL,
  publicPath = false,
): AccessRefusal | null {
  if (OPEN_PATHS.has(url.pathname)) return null;
  const origin = req.headers.get("origin");
  // No Origin header: not a browser (or a same-origin navigation), which ALLOWED_ORIGINS is not
  // about; tokens guard those.
  if (policy.origins !== null && origin !== null && !policy.origins.has(normalizeOrigin(origin))) {
    return {
      status: 403,
      reason: "forbidden_origin",
      message: `Origin ${
        JSON.stringify(origin.slice(0, 200))
      } is not allowed here; the server's ALLOWED_ORIGINS lists the web origins that may connect`,
      headers: {},
    };
  }
  if (policy.tokens.length === 0 || publicPath) return null;

  const header = req.headers.get("authorization");
  const query = url.searchParams.getAll("token");
  const unauthorized = (message: string, error?: string): AccessRefusal => ({
    status: 401,
    reason: "unauthorized",
    message,
    headers: { "www-authenticate": error ? `${REALM}, error="${error}"` : REALM },
  });
  let given: string;
  if (header !== null && query.length > 0) {
    return unauthorized(
      "Send the token once: in Authorization: Bearer <token> or in ?token=<token>, not both",
      "invalid_request",
    );
  } else if (query.length > 1) {
    return unauthorized("Send one ?token= parameter, not several", "invalid_request");
  } else if (header !== null) {
    const m = /^Bearer +([^ ]+) *$/i.exec(header);
    if (!m) {
      return unauthorized(
        'The Authorization header must be "Bearer <token>"',
        "invalid_request",
      );
    }
    given = m[1];
  } else if (query.length === 1) {
    given = query[0];
  } else {
    return unauthorized(
      "This server needs a token: send Authorization: Bearer <token> (or ?token=<token> from a browser)",
    );
  }
  const bytes = new TextEncoder().encode(given);
  let ok = false;
  // Every token is compared, so the time does not tell which one (or whether one) matched.
  for (const t of policy.tokens) ok = timingSafeEqual(bytes, t) || ok;
  return ok ? null : unauthorized("The token is not valid", "invalid_token");
}

/** `Origin` as a browser serializes it; anything unparsable (e.g. "null") matches nothing. */
function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return "\0invalid";
  }
}
