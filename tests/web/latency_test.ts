/**
 * The demo page measures partial latency with its own copy of the client's definition (the page
 * loads plain scripts, not src/): the two must give the same figures for the same sends.
 */
import assert from "node:assert/strict";
import * as client from "../../src/client/coverage.ts";
import { percentile } from "../../src/client/latency_stats.ts";
import * as page from "../../web/latency.js";

/** A deterministic stream of numbers in [0, 1). */
function random(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

Deno.test("the demo page's partial latency equals the client's, with and without word times", () => {
  const next = random(7);
  for (
    const knobs of [{ stepMs: 240, rightContextMs: 160 }, { stepMs: 480, rightContextMs: 1040 }]
  ) {
    for (let run = 0; run < 50; run++) {
      const ours = new page.SendLog();
      const theirs = new client.SendLog();
      // 20 ms frames (640 bytes) sent with jitter, a few seconds of them.
      let t = 1000 * next(), bytes = 0;
      const frames = 100 + Math.floor(next() * 300);
      for (let i = 0; i < frames; i++) {
        bytes += 640;
        t += 20 * (0.5 + next());
        ours.add(bytes, t);
        theirs.add(bytes, t);
      }
      const arrival = t + 300 * next();
      const lastEnd = next() < 0.2 ? null : Math.round(next() * bytes / 32) / 1000;
      const words = lastEnd === null ? [] : [{ word: "x", start: 0, end: lastEnd }];
      const latency = page.partialLatencyMs(knobs, ours, arrival, words);
      assert.ok(Number.isFinite(latency) && latency >= 0, `latency ${latency}`);
      assert.equal(
        latency,
        client.partialLatencyMs(knobs, theirs, arrival, lastEnd).latencyMs,
        `knobs ${JSON.stringify(knobs)}, last word end ${lastEnd}`,
      );
    }
  }
});

Deno.test("the demo page's p50 and p95 are the client's nearest-rank percentiles", () => {
  const next = random(11);
  const meter = new page.LatencyMeter();
  const values: number[] = [];
  for (let i = 0; i < 37; i++) {
    const v = Math.round(next() * 500);
    meter.add(v);
    values.push(v);
    const sorted = [...values].sort((a, b) => a - b);
    const s = meter.summary();
    assert.deepEqual(s, {
      count: values.length,
      latest: v,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
    });
  }
  assert.deepEqual(new page.LatencyMeter().summary(), {
    count: 0,
    latest: null,
    p50: null,
    p95: null,
  });
});
