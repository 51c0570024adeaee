/**
 * Access control: bearer tokens (`AUTH_TOKEN`, `AUTH_TOKEN_FILE`; off by default) and browser
 * origins (a page of another origin is refused unless `ALLOWED_ORIGINS` lists it, so no web
 * page a user visits can use their local server). Both are decided before any work: before the
 * WebSocket upgrade, before an upload is read. A token is never logged, echoed or put in a
 * message; comparisons take the same time wherever the first differing byte is.
 */
import { offeredProtocols } from "../net/ws_upgrade.ts";
import { ConfigError } from "./config.ts";
import type { RefusalReason } from "./refusals.ts";

export interface AccessPolicy {
  /** Accepted tokens as UTF-8 bytes; empty = no token needed. */
  tokens: Uint8Array[];
  /**
   * `Origin` values (serialized origins) accepted besides the server's own, which always is;
   * "any" = every origin (`ALLOWED_ORIGINS=*`).
   */
  origins: ReadonlySet<string> | "any";
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
    checkTokenSyntax(knobs.authToken, "AUTH_TOKEN");
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
      checkTokenSyntax(line, `AUTH_TOKEN_FILE "${path}" line ${i + 1}`);
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
function checkTokenSyntax(token: string, where: string): void {
  if (!/^[\x21-\x7e]+$/.test(token)) {
    throw new ConfigError(
      `${where}: a token must be printable ASCII without spaces or control characters (e.g. from \`openssl rand -hex 32\`); got one of ${token.length} characters that is not`,
    );
  }
}

/** Unset: no origin but the server's own; `*` anywhere: any origin. */
export function parseOrigins(value: string | null): ReadonlySet<string> | "any" {
  const origins = new Set<string>();
  if (value === null) return origins;
  for (const raw of value.split(",")) {
    const entry = raw.trim();
    if (entry === "") continue;
    if (entry === "*") return "any";
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
  return origins;
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
  status: 401 | 403 | 429;
  /** For the refusal counters. */
  reason: RefusalReason;
  /** For the client. */
  message: string;
  /** For the log: what was wrong, without the token. */
  detail: string;
  /** A credential was presented and was wrong: a guess, counted against the address. */
  guess: boolean;
  headers: Record<string, string>;
}

const REALM = 'Bearer realm="parakeet-server"';
/** The subprotocol prefix OpenAI's browser Realtime clients carry their key in. */
const KEY_SUBPROTOCOL = "openai-insecure-api-key.";

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
  const forbidden = checkOrigin(policy, req, url);
  if (forbidden) return forbidden;
  if (!needsToken(policy, publicPath)) return null;
  return checkToken(policy, req, url);
}

export function needsToken(policy: AccessPolicy, publicPath: boolean): boolean {
  return policy.tokens.length > 0 && !publicPath;
}

/**
 * A browser says which page a request comes from in `Origin`. No Origin: not a browser (or a
 * same-origin navigation), which this is not about; tokens guard those.
 */
export function checkOrigin(policy: AccessPolicy, req: Request, url: URL): AccessRefusal | null {
  const origin = req.headers.get("origin");
  if (origin === null || policy.origins === "any") return null;
  if (isSameOrigin(origin, req.headers.get("host") ?? url.host)) return null;
  if (policy.origins.has(normalizeOrigin(origin))) return null;
  const shown = JSON.stringify(origin.slice(0, 200));
  return {
    status: 403,
    reason: "forbidden_origin",
    message:
      `Origin ${shown} is not allowed here: browsers may connect from this server's own pages and from the origins in its ALLOWED_ORIGINS`,
    detail: `origin ${shown} not allowed`,
    guess: false,
    headers: {},
  };
}

/**
 * The page was served by this server: the same host and port as the request was sent to (the
 * Host header), the scheme's default port filled in. The scheme itself cannot be compared: behind
 * a TLS proxy the browser's is https and ours http.
 */
export function isSameOrigin(origin: string, host: string | null): boolean {
  if (host === null || host === "") return false;
  let page: URL;
  let self: URL;
  try {
    page = new URL(origin);
    self = new URL(`${page.protocol}//${host}`);
  } catch {
    return false;
  }
  if (page.protocol !== "http:" && page.protocol !== "https:") return false;
  // A Host header that is more than host[:port] (a path, user info) matches nothing.
  if (self.username !== "" || self.password !== "" || self.pathname !== "/") return false;
  if (self.search !== "" || self.hash !== "") return false;
  return page.origin === self.origin;
}

/** Null for a valid token, else the 401 to answer. */
export function checkToken(policy: AccessPolicy, req: Request, url: URL): AccessRefusal | null {
  const header = req.headers.get("authorization");
  const query = url.searchParams.getAll("token");
  // A browser cannot set headers on a WebSocket: OpenAI's browser Realtime clients send the key
  // as a subprotocol instead. Only upgrades carry one.
  const offered = req.headers.get("upgrade")?.toLowerCase() === "websocket"
    ? offeredProtocols(req).filter((p) => p.startsWith(KEY_SUBPROTOCOL))
      .map((p) => p.slice(KEY_SUBPROTOCOL.length))
    : [];
  const unauthorized = (message: string, detail: string, error?: string): AccessRefusal => ({
    status: 401,
    reason: "unauthorized",
    message,
    detail,
    guess: error !== undefined,
    headers: { "www-authenticate": error ? `${REALM}, error="${error}"` : REALM },
  });
  let given: string;
  const ways = (header !== null ? 1 : 0) + (query.length > 0 ? 1 : 0) +
    (offered.length > 0 ? 1 : 0);
  if (ways > 1) {
    return unauthorized(
      "Send the token once: in Authorization: Bearer <token>, in ?token=<token> or as the openai-insecure-api-key.<token> subprotocol, not several",
      "token sent twice",
      "invalid_request",
    );
  } else if (query.length > 1 || offered.length > 1) {
    return unauthorized(
      "Send one token, not several",
      "several tokens",
      "invalid_request",
    );
  } else if (header !== null) {
    const m = /^Bearer +([^ ]+) *$/i.exec(header);
    if (!m) {
      return unauthorized(
        'The Authorization header must be "Bearer <token>"',
        "malformed Authorization header",
        "invalid_request",
      );
    }
    given = m[1];
  } else if (query.length === 1) {
    given = query[0];
  } else if (offered.length === 1) {
    given = offered[0];
  } else {
    return unauthorized(
      "This server needs a token: send Authorization: Bearer <token> (or ?token=<token> from a browser)",
      "no token",
    );
  }
  const bytes = new TextEncoder().encode(given);
  let ok = false;
  // Every token is compared, so the time does not tell which one (or whether one) matched.
  for (const t of policy.tokens) ok = timingSafeEqual(bytes, t) || ok;
  return ok ? null : unauthorized("The token is not valid", "wrong token", "invalid_token");
}

/** `Origin` as a browser serializes it; anything unparsable (e.g. "null") matches nothing. */
function normalizeOrigin(origin: string): string {
  try {
    return new URL(origin).origin;
  } catch {
    return "\0invalid";
  }
}
