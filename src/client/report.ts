import type { LatencySummary } from "./latency_stats.ts";

/** Milliseconds for a report: one decimal below 10 ms, whole above; "–" when unmeasured. */
export function ms(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return "–";
  return Math.abs(v) < 10 ? `${v.toFixed(1)} ms` : `${Math.round(v)} ms`;
}

/** "n=12  mean 40 ms  p50 38 ms  p95 60 ms  p99 71 ms  max 71 ms" */
export function summaryLine(s: LatencySummary): string {
  if (s.count === 0) return "n=0 (none measured)";
  return `n=${s.count}  mean ${ms(s.mean)}  p50 ${ms(s.p50)}  p95 ${ms(s.p95)}  p99 ${
    ms(s.p99)
  }  max ${ms(s.max)}`;
}

/** Rows of label/value pairs as aligned text lines. */
export function table(rows: [string, string][]): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v}`).join("\n");
}
