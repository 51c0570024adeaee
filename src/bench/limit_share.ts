/**
 * The share of the encoder-only limit a server holds, from interleaved rounds: each round's
 * share is its ramp's streams held over the encoder-only limit measured right before it, so
 * both see the same load on the machine. The median round is the figure and the spread (the
 * highest share less the lowest) says how far one round can be trusted.
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
