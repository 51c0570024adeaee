/** The share of the encoder-only limit from interleaved rounds (src/bench/limit_share.ts). */
import assert from "node:assert/strict";
import { bracketedLimit, shareOfLimit } from "../../src/bench/limit_share.ts";

Deno.test("limit share: the median round's share and the spread of all of them", () => {
  const share = shareOfLimit([
    { encoder_limit: 10, streams_held: 7 },
    { encoder_limit: 12, streams_held: 6 },
    { encoder_limit: 11, streams_held: 8 },
  ]);
  assert.deepEqual(share.shares_pct, [70, 50, 72.7]);
  assert.equal(share.share_pct, 70);
  assert.equal(share.spread_points, 22.7);
  assert.equal(share.streams_held_median, 7);
  assert.equal(share.encoder_limit_median, 11);
});

Deno.test("limit share: an even number of rounds takes the mean of the middle two", () => {
  const share = shareOfLimit([
    { encoder_limit: 10, streams_held: 5 },
    { encoder_limit: 10, streams_held: 6 },
  ]);
  assert.equal(share.share_pct, 55);
  assert.equal(share.spread_points, 10);
});

Deno.test("limit share: no rounds, or a zero limit, is refused", () => {
  assert.throws(() => shareOfLimit([]), RangeError);
  assert.throws(() => shareOfLimit([{ encoder_limit: 0, streams_held: 3 }]), RangeError);
});

Deno.test("limit share: a round's limit is the mean of the measurements before and after its ramp", () => {
  const limit = bracketedLimit(30, 33.2);
  assert.equal(limit.encoder_limit, 31.6);
  assert.equal(limit.encoder_limit_before, 30);
  assert.equal(limit.encoder_limit_after, 33.2);
  assert.equal(limit.drift_pct, 10.7);
  assert.equal(bracketedLimit(32, 28).drift_pct, -12.5);
  assert.throws(() => bracketedLimit(0, 30), RangeError);
  assert.throws(() => bracketedLimit(30, Number.NaN), RangeError);
});
