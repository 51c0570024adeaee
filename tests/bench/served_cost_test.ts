/** The share of the limit in its two parts: the scheduler's and the machine's (served_cost.ts). */
import assert from "node:assert/strict";
import { readCounters, servedCost, shareParts } from "../../src/bench/served_cost.ts";
import { ServerMetrics } from "../../src/server/server_metrics.ts";

function metricsAfter(batches: { windows: number; encodeMs: number; decodeMs: number }[]) {
  const m = new ServerMetrics(
    { dir: "/m/x", device: "cpu", precision: "fp32", ortVersion: "1" },
    { openStreams: () => 0, openUploads: () => 0, inflightBatches: () => 0 },
  );
  for (const b of batches) {
    m.batchDone({
      streams: b.windows,
      windows: b.windows,
      result: {
        rows: [],
        stats: { encoderCalls: 1, jointCalls: 1, encodeMs: b.encodeMs, decodeMs: b.decodeMs },
      } as never,
    });
  }
  return m;
}

Deno.test("served cost: read from the server's own /metrics text, differenced over a phase", () => {
  const m = metricsAfter([{ windows: 4, encodeMs: 40, decodeMs: 4 }]);
  const before = readCounters(m.render());
  m.batchDone({
    streams: 20,
    windows: 20,
    result: {
      rows: [],
      stats: { encoderCalls: 1, jointCalls: 9, encodeMs: 180, decodeMs: 10 },
    } as never,
  });
  m.batchDone({
    streams: 10,
    windows: 10,
    result: {
      rows: [],
      stats: { encoderCalls: 1, jointCalls: 9, encodeMs: 90, decodeMs: 5 },
    } as never,
  });
  const cost = servedCost(before, readCounters(m.render()), 300);
  assert.equal(cost.windows, 30);
  assert.equal(cost.batches, 2);
  assert.equal(cost.encoder_ms_per_window, 9);
  assert.equal(cost.decoder_ms_per_window, 0.5);
  assert.equal(cost.inference_busy_pct, 95, "285 ms of 300 ms");
  // Two lanes add their time in the same counters: the busy share is per lane.
  const laned = servedCost(before, readCounters(m.render()), 150, 2);
  assert.equal(laned.inference_busy_pct, 95, "285 ms of two lanes' 2 × 150 ms");
  assert.equal(laned.encoder_ms_per_window, 9, "a window's cost does not depend on the lanes");
  assert.throws(() => servedCost(before, readCounters(m.render()), 150, 0), RangeError);
});

Deno.test("served cost: a missing counter fails instead of reading as zero", () => {
  const text = metricsAfter([]).render().split("\n")
    .filter((l) => !l.startsWith("parakeet_encoder_seconds_sum")).join("\n");
  assert.throws(() => readCounters(text), /parakeet_encoder_seconds_sum is missing/);
});

Deno.test("served cost: a phase with no windows served is refused", () => {
  const m = metricsAfter([{ windows: 3, encodeMs: 30, decodeMs: 3 }]);
  const s = readCounters(m.render());
  assert.throws(() => servedCost(s, s, 1000), RangeError);
});

Deno.test("share parts: busy time times the encoder's speed in the server against alone", () => {
  const parts = shareParts(7.5, {
    wall_s: 8,
    windows: 800,
    batches: 40,
    encoder_ms_per_window: 9,
    decoder_ms_per_window: 0.3,
    inference_busy_pct: 96,
  });
  assert.equal(parts.encoder_speed_pct, 83.3);
  assert.equal(parts.busy_pct, 96);
  assert.equal(parts.predicted_share_pct, 80);
  assert.throws(() => shareParts(0, { ...parts, encoder_ms_per_window: 9 } as never), RangeError);
});
