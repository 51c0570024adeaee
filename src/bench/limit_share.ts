/**
 * The share of the encoder-only limit a server holds, from interleaved rounds: each round's
 * share is its ramp's streams held over the encoder-only limit measured right before it and
 * right after it (`bracketedLimit`), so both see the same load on the machine. The median round
 * is the figure and the spread (the highest share less the lowest) says how far one round can
 * be trusted.
 */

export interface ShareRound {
  /** Streams the encoder alone could hold (bench/encoder_limit.ts). */
  encoder_limit: number;
  /** Streams the ramp held at the latency target. */
  streams_held: number;
}

export interface LimitShare {
  /** Median over the rounds of held ÷ limit, in percent (one decimal). */
  share_pct: number;
  /** Highest round share less the lowest, in percentage points. */
  spread_points: number;
  shares_pct: number[];
  streams_held_median: number;
  encoder_limit_median: number;
}

const median = (xs: readonly number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
};
const round1 = (x: number) => Math.round(x * 10) / 10;

export interface BracketedLimit {
  /** The mean of the two measurements: the limit the round's share is taken against. */
  encoder_limit: number;
  encoder_limit_before: number;
  encoder_limit_after: number;
  /** After less before, in percent of before: how far the machine moved during the ramp. */
  drift_pct: number;
}

/**
 * A round's encoder-only limit from one measurement before its ramp and one after. A shared
 * machine's speed drifts over the minute and a half a ramp takes, and one short measurement
 * (a dozen calls) moves by a tenth between rounds; the mean of two that bracket the ramp is
 * what the ramp saw, as near as two short measurements tell.
 */
export function bracketedLimit(before: number, after: number): BracketedLimit {
  if (!(before > 0 && after > 0)) {
    throw new RangeError(`an encoder-only limit must be above 0, got ${before} and ${after}`);
  }
  return {
    encoder_limit: round1((before + after) / 2),
    encoder_limit_before: before,
    encoder_limit_after: after,
    drift_pct: round1(100 * (after - before) / before),
  };
}

export function shareOfLimit(rounds: readonly ShareRound[]): LimitShare {
  if (rounds.length === 0) throw new RangeError("the share of the limit needs at least one round");
  for (const r of rounds) {
    if (!(r.encoder_limit > 0 && r.streams_held >= 0)) {
      throw new RangeError(
        `a round needs an encoder-only limit above 0 and streams held ≥ 0, got ${r.encoder_limit} and ${r.streams_held}`,
      );
    }
  }
  const shares = rounds.map((r) => 100 * r.streams_held / r.encoder_limit);
  return {
    share_pct: round1(median(shares)),
    spread_points: round1(Math.max(...shares) - Math.min(...shares)),
    shares_pct: shares.map(round1),
    streams_held_median: median(rounds.map((r) => r.streams_held)),
    encoder_limit_median: round1(median(rounds.map((r) => r.encoder_limit))),
  };
}
