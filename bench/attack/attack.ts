/** What an attack is given, what it reports, and the checks shared by several attacks. */
import type { ProcessStats } from "../process_stats.ts";
import type { AttackKnobs } from "./knobs.ts";
import type { Media } from "./media_files.ts";

export interface AttackContext {
  /** The server under attack (the auth attacks get a second server with AUTH_TOKEN). */
  port: number;
  pid: number;
  knobs: AttackKnobs;
  media: Media;
  /** Loopback source address number `n` (1-based) of this attack's own /24, e.g. 127.0.4.n. */
  address(n: number): string;
  /** The server's RSS and fds now. */
  stats(): ProcessStats;
  log(line: string): void;
}

/** What one attack observed, and whether that is the expected outcome. */
export interface Observation {
  pass: boolean;
  /** Why it failed, in a line (empty when it passed). */
  failure: string;
  observed: Record<string, unknown>;
}

export interface Attack {
  name: string;
  /** What is sent, in a line, with the sizes and counts of this run. */
  sent(k: AttackKnobs): string;
  /** The outcome the attack asserts. */
  expected(k: AttackKnobs): string;
  /** Runs the attack; bounded in time, and every connection it opened is closed when it ends. */
  run(ctx: AttackContext): Promise<Observation>;
  /** The second server, started with AUTH_TOKEN. */
  needsAuthServer?: boolean;
}

export interface StatsSnapshot {
  rssMiB: number;
  fds: number;
}

export interface AttackReport {
  name: string;
  sent: string;
  expected: string;
  pass: boolean;
  failure: string;
  observed: Record<string, unknown>;
  startedS: number;
  durationS: number;
  before: StatsSnapshot;
  after: StatsSnapshot;
}

/** Builds an observation from checks: each failed check adds its message. */
export function judge(observed: Record<string, unknown>, checks: [boolean, string][]): Observation {
  const failed = checks.filter(([ok]) => !ok).map(([, why]) => why);
  return { pass: failed.length === 0, failure: failed.join("; "), observed };
}

/** Seconds rounded to 0.01, for reports. */
export const secs = (ms: number) => Math.round(ms / 10) / 100;

/** A close time counts as "at ~T s" from 0.75 T to T + slack. */
export function closedNear(s: number | null, t: number, slackS: number): boolean {
  return s !== null && s >= 0.75 * t && s <= t + slackS;
}

/** min, median and max of some seconds, or null for none. */
export function spread(xs: readonly number[]): { min: number; median: number; max: number } | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => a - b);
  return { min: s[0], median: s[Math.floor(s.length / 2)], max: s[s.length - 1] };
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
