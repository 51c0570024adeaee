/**
 * The access decision for one request, with memory: the origin and token checks of auth.ts, a
 * limit on failed token attempts per client address (429 without comparing tokens once it is
 * reached), and a log line per refusal, at most one per address per minute. Every refusal asks
 * for the connection to be closed: the request's body is never read, and a client that sent one
 * must not have it taken as the next request.
 */
import { AuthFailureLimiter } from "./auth_failures.ts";
import {
  type AccessPolicy,
  type AccessRefusal,
  checkOrigin,
  checkToken,
  needsToken,
  OPEN_PATHS,
} from "./auth.ts";
import { PerClientLogThrottle } from "./log_throttle.ts";

export interface AccessGateOptions {
  /** Failed token attempts per address within `failureWindowMs` before 429. */
  maxFailures: number;
  failureWindowMs?: number;
  /** Addresses remembered (failures, log throttling); the least recent are forgotten first. */
  maxClients?: number;
  log: (line: string) => void;
  now?: () => number;
}

/** One log line per address per this, whatever it sends. */
const LOG_INTERVAL_MS = 60_000;
/**
 * Enough for every address active in a minute on a busy server; about 100 bytes each. An
 * attacker with more addresses pushes out the oldest, its own included: memory stays bounded.
 */
const REMEMBERED_CLIENTS = 10_000;

export class AccessGate {
  readonly policy: AccessPolicy;
  readonly failures: AuthFailureLimiter;
  #logThrottle: PerClientLogThrottle;
  #log: (line: string) => void;

  constructor(policy: AccessPolicy, opts: AccessGateOptions) {
    const now = opts.now ?? (() => Date.now());
    this.policy = policy;
    this.failures = new AuthFailureLimiter({
      maxFailures: opts.maxFailures,
      windowMs: opts.failureWindowMs ?? 60_000,
      maxClients: opts.maxClients ?? REMEMBERED_CLIENTS,
    }, now);
    this.#logThrottle = new PerClientLogThrottle(
      { intervalMs: LOG_INTERVAL_MS, maxClients: opts.maxClients ?? REMEMBERED_CLIENTS },
      now,
    );
    this.#log = opts.log;
  }

  /**
   * Null when the request may go on. `client` is the address it came from; `publicPath` marks
   * the demo page's own files, which need no token.
   */
  check(req: Request, url: URL, client: string, publicPath: boolean): AccessRefusal | null {
    if (OPEN_PATHS.has(url.pathname)) return null;
    const refusal = this.#decide(req, url, client, publicPath);
    if (!refusal) return null;
    const line = this.#logThrottle.admit(
      client,
      `access refused (${refusal.status}): ${client} ${req.method} ${
        url.pathname.slice(0, 120)
      }: ${refusal.detail}`,
    );
    if (line !== null) this.#log(line);
    return { ...refusal, headers: { ...refusal.headers, connection: "close" } };
  }

  #decide(req: Request, url: URL, client: string, publicPath: boolean): AccessRefusal | null {
    const forbidden = checkOrigin(this.policy, req, url);
    if (forbidden) return forbidden;
    if (!needsToken(this.policy, publicPath)) return null;
    const retryAfterS = this.failures.retryAfterS(client);
    if (retryAfterS > 0) {
      return {
        status: 429,
        reason: "auth_rate_limited",
        message:
          `Too many failed token attempts from your address; retry in ${retryAfterS} s with the right token`,
        detail: `${this.failures.limits.maxFailures} failed token attempts within ${
          this.failures.limits.windowMs / 1000
        } s, token not checked`,
        guess: false,
        headers: { "retry-after": String(retryAfterS) },
      };
    }
    const unauthorized = checkToken(this.policy, req, url);
    if (unauthorized?.guess) this.failures.fail(client);
    return unauthorized;
  }
}
