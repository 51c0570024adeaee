/** Summary statistics of a latency sample, in the unit of the input (milliseconds here). */
export interface LatencySummary {
  count: number;
  mean: number | null;
  p50: number | null;
  p95: number | null;
  p99: number | null;
  max: number | null;
}

/**
 * Nearest-rank percentile (`p` in 0–100) of an ascending-sorted sample: the smallest value with
 * at least p% of the sample at or below it. Chosen over interpolation so every reported number
 * is one that was actually measured. Null for an empty sample.
 */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (sorted.length === 0) return null;
  if (!(p >= 0 && p <= 100)) throw new RangeError(`percentile must be in 0–100, got ${p}`);
  const rank = Math.max(1, Math.ceil((p / 100) * sorted.length));
  return sorted[rank - 1];
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** count, mean, p50/p95/p99 and max, rounded to 0.1. */
export function summarize(values: readonly number[]): LatencySummary {
  const sorted = [...values].sort((a, b) => a - b);
  const pick = (p: number) => {
    const v = percentile(sorted, p);
    return v === null ? null : round1(v);
  };
  return {
    count: sorted.length,
    mean: sorted.length ? round1(sorted.reduce((a, b) => a + b, 0) / sorted.length) : null,
    p50: pick(50),
    p95: pick(95),
    p99: pick(99),
    max: sorted.length ? round1(sorted[sorted.length - 1]) : null,
  };
}
