/**
 * At most one log line per client address per interval, so a client cannot flood the log; the
 * next line that gets through says how many were held back. Pure logic (the clock is given);
 * memory bounded by `maxClients` addresses.
 */
import { RecentMap } from "./recent_map.ts";

interface Entry {
  lastLogged: number;
  suppressed: number;
}

export class PerClientLogThrottle {
  readonly intervalMs: number;
  #entries: RecentMap<string, Entry>;
  #now: () => number;

  constructor(
    opts: { intervalMs: number; maxClients: number },
    now: () => number = () => Date.now(),
  ) {
    this.intervalMs = opts.intervalMs;
    this.#entries = new RecentMap(opts.maxClients);
    this.#now = now;
  }

  /** The line to log now, or null when `client` had one logged within the interval. */
  admit(client: string, line: string): string | null {
    const now = this.#now();
    const e = this.#entries.get(client);
    if (e && now - e.lastLogged < this.intervalMs) {
      e.suppressed++;
      return null;
    }
    this.#entries.set(client, { lastLogged: now, suppressed: 0 });
    if (!e || e.suppressed === 0) return line;
    return `${line} (${e.suppressed} more from this address not logged since the last line)`;
  }
}
