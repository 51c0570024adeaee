/**
 * Failed token attempts per client address: after `maxFailures` within `windowMs`, the address
 * is refused (429) until the window ends, without its tokens even being compared. Pure logic
 * (the clock is given); memory is bounded by `maxClients` addresses, the least recently failing
 * pushed out first.
 */
import { RecentMap } from "./recent_map.ts";

export interface AuthFailureLimits {
  maxFailures: number;
  windowMs: number;
  maxClients: number;
}

interface Window {
  start: number;
  failures: number;
}

export class AuthFailureLimiter {
  readonly limits: AuthFailureLimits;
  #windows: RecentMap<string, Window>;
  #now: () => number;

  constructor(limits: AuthFailureLimits, now: () => number = () => Date.now()) {
    this.limits = limits;
    this.#windows = new RecentMap(limits.maxClients);
    this.#now = now;
  }

  #current(client: string): Window | undefined {
    const w = this.#windows.get(client);
    if (w && this.#now() - w.start >= this.limits.windowMs) {
      this.#windows.delete(client);
      return undefined;
    }
    return w;
  }

  /** Whole seconds until `client` may try a token again; 0 when it may now. */
  retryAfterS(client: string): number {
    const w = this.#current(client);
    if (!w || w.failures < this.limits.maxFailures) return 0;
    return Math.max(1, Math.ceil((w.start + this.limits.windowMs - this.#now()) / 1000));
  }

  /** Counts one failed attempt by `client`. */
  fail(client: string): void {
    const w = this.#current(client) ?? { start: this.#now(), failures: 0 };
    w.failures++;
    this.#windows.set(client, w);
  }

  /** Addresses with failures on record. */
  get clients(): number {
    return this.#windows.size;
  }
}
