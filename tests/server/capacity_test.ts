/**
 * MAX_STREAMS=auto (src/server/capacity.ts): the capacity measured at start is what `/ws`
 * admits, what `/ready` calls full, what `/v1/status` and `parakeet_capacity_streams` show; a
 * refusal carries Retry-After; serving costs that drift recompute it without cutting streams.
 */
import assert from "node:assert/strict";
import type { BatchRunner } from "../../src/stream/batch_scheduler.ts";
import { DEFAULT_DRIFT } from "../../src/stream/capacity_drift.ts";
import { type MeasuredCosts, StreamCapacity } from "../../src/server/capacity.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { marginFor, streamsHeld } from "../../src/stream/capacity_model.ts";
import { inferenceLanes } from "../../src/engine/inference_pool.ts";
import { startTestServer } from "./harness.ts";
import { RawWebSocket } from "./raw_ws.ts";

/** Sends a WebSocket upgrade on a bare socket; the status and headers of a refusal. */
async function upgradeHead(port: number): Promise<{ status: number; headers: Headers }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  try {
    await conn.write(new TextEncoder().encode(
      `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    ));
    let head = "";
    const buf = new Uint8Array(4096);
    while (!head.includes("\r\n\r\n")) {
      const n = await conn.read(buf);
      if (n === null) break;
      head += new TextDecoder().decode(buf.subarray(0, n));
    }
    const [statusLine, ...lines] = head.split("\r\n\r\n")[0].split("\r\n");
    const headers = new Headers();
    for (const l of lines) {
      const i = l.indexOf(":");
      headers.append(l.slice(0, i).trim(), l.slice(i + 1).trim());
    }
    return { status: Number(statusLine.split(" ")[1]), headers };
  } finally {
    conn.close();
  }
}

function gauge(metrics: string, name: string): number {
  const line = metrics.split("\n").find((l) => l.startsWith(name + " "));
  assert.ok(line, `${name} in /metrics`);
  return Number(line.split(" ")[1]);
}

Deno.test("MAX_STREAMS is auto by default; a number still wins; other words are refused", () => {
  assert.equal(loadServerConfig({}).maxStreams, "auto");
  assert.equal(loadServerConfig({ MAX_STREAMS: "7" }).maxStreams, 7);
  assert.equal(loadServerConfig({}, ["--max-streams", "auto"]).maxStreams, "auto");
  assert.throws(() => loadServerConfig({ MAX_STREAMS: "many" }), /whole number or auto/);
  assert.throws(() => loadServerConfig({ MAX_BATCH: "auto" }), /MAX_BATCH must be a whole number,/);
});

Deno.test("auto: the measured capacity is on /v1/status, /ready and /metrics", async () => {
  await using srv = await startTestServer({ MAX_STREAMS: "auto", MAX_BATCH: "4" });
  const status = await (await fetch(`${srv.http}/v1/status`)).json();
  const cap = status.capacity;
  assert.equal(cap.source, "measured");
  assert.ok(Number.isInteger(cap.streams) && cap.streams >= 1, JSON.stringify(cap));
  assert.equal(status.streams.capacity, cap.streams);
  assert.equal(cap.target_p95_ms, 240 + 100);
  // The lanes the step costs were measured on, as the server picked them for this machine.
  assert.equal(status.batches.lanes, inferenceLanes(0, "cpu", navigator.hardwareConcurrency));
  assert.ok(
    srv.lines.some((l) => l.includes(`${status.batches.lanes} inference lane(s)`)),
    srv.lines.join("\n"),
  );
  assert.ok(!Number.isNaN(Date.parse(cap.measured_at)));
  assert.ok(cap.step_cost_ms["1"].total > 0, "batch 1 measured");
  assert.deepEqual(
    Object.keys(cap.step_cost_ms).filter((k) => !["1", "2", "4"].includes(k)),
    [],
    "sizes 1, 2, 4 up to MAX_BATCH",
  );
  assert.equal(status.knobs.MAX_STREAMS, "auto");
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.equal(gauge(metrics, "parakeet_capacity_streams"), cap.streams);
  const ready = await fetch(`${srv.http}/ready`);
  assert.equal(await ready.text(), `ready (0/${cap.streams} streams)\n`);
  assert.ok(srv.lines.some((l) => /^step cost: batch 1 \d+ ms/.test(l)), srv.lines.join("\n"));
  assert.ok(srv.lines.some((l) => l.startsWith(`capacity: ${cap.streams} streams`)));
  // Each stream's host work per step, measured beside the batches: streaming code and socket.
  const host = cap.host_ms_per_step;
  assert.ok(host.stream > 0 && host.socket > 0, JSON.stringify(host));
  assert.ok(Math.abs(host.total - host.stream - host.socket) <= 0.02, JSON.stringify(host));
  assert.equal(typeof cap.host_overlaps_inference, "boolean");
  assert.ok(srv.lines.some((l) => /^host cost: [\d.]+ ms per stream per step/.test(l)));
});

Deno.test("auto on a device too slow for one stream admits one; the next gets 503 with Retry-After", async () => {
  // Every batch takes 400 ms more than the model needs: over STEP_MS + 100 for one window.
  const slow = (engine: BatchRunner): BatchRunner => ({
    run: async (request) => {
      await new Promise((r) => setTimeout(r, 400));
      return await engine.run(request);
    },
  });
  await using srv = await startTestServer({ MAX_STREAMS: "auto", MAX_BATCH: "2" }, slow);
  assert.ok(srv.lines.some((l) => /not even one stream holds/.test(l)), srv.lines.join("\n"));
  const status = await (await fetch(`${srv.http}/v1/status`)).json();
  assert.equal(status.capacity.streams, 1);
  assert.deepEqual(Object.keys(status.capacity.step_cost_ms), ["1"], "stops past the target");
  const a = await RawWebSocket.open(srv.port);
  const refused = await upgradeHead(srv.port);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "5");
  assert.equal(srv.server.stats().refused.capacity, 1);
  const ready = await fetch(`${srv.http}/ready`);
  assert.equal(ready.status, 503);
  assert.equal(await ready.text(), "full (1/1 streams)\n");
  a.close();
});

Deno.test("a configured MAX_STREAMS is the capacity, its refusals carry Retry-After too", async () => {
  await using srv = await startTestServer({ MAX_STREAMS: "1" });
  const status = await (await fetch(`${srv.http}/v1/status`)).json();
  assert.deepEqual(status.capacity, {
    streams: 1,
    source: "configured",
    measured_at: null,
    target_p95_ms: null,
    step_cost_ms: null,
    host_ms_per_step: null,
    host_overlaps_inference: null,
    drift_ratio: null,
    recomputed: 0,
  });
  assert.ok(!srv.lines.some((l) => l.startsWith("step cost:")), "nothing measured");
  const a = await RawWebSocket.open(srv.port);
  const refused = await upgradeHead(srv.port);
  assert.equal(refused.status, 503);
  assert.equal(refused.headers.get("retry-after"), "5");
  a.close();
});

Deno.test("serving costs that drift recompute the capacity, bounded and logged", () => {
  let now = 0;
  const lines: string[] = [];
  const costs: MeasuredCosts = {
    table: [1, 2, 4, 8].map((b) => ({
      batch: b,
      ms: 10 + 5 * b,
      computeMs: 8 + 5 * b,
      encodeMs: 6 + 5 * b,
      decodeMs: 2,
    })),
    at: 0,
  };
  const cap = StreamCapacity.measured(
    costs,
    { stepMs: 240, maxBatch: 8, hardCap: 1000 },
    (l) => lines.push(l),
    { drift: DEFAULT_DRIFT, now: () => now, monotonic: () => now },
  );
  const before = cap.streams;
  assert.ok(before > 4, `${before} streams`);
  // Three times slower (another job took the cores) for longer than the hold.
  for (; now < 40_000; now += 100) cap.observeBatch(4, 3 * (8 + 20));
  assert.equal(cap.status().recomputed, 0, "not within the first minute of the measurement");
  for (; now < 90_000; now += 100) cap.observeBatch(4, 3 * (8 + 20));
  const slower = cap.streams;
  assert.ok(slower >= 1 && slower < before, `${before} → ${slower}`);
  assert.equal(cap.status().recomputed, 1);
  assert.match(
    lines.at(-1)!,
    /capacity: steps cost 3× what was last measured; capacity \d+ → \d+ streams/,
  );
  // As measured last time now: stays.
  for (; now < 300_000; now += 100) cap.observeBatch(4, 3 * (8 + 20));
  assert.equal(cap.streams, slower);
  // A device so slow nothing holds: never below one.
  for (; now < 500_000; now += 100) cap.observeBatch(4, 1000);
  assert.equal(cap.streams, 1);
  assert.equal(cap.status().recomputed, 2);
  // Configured: never recomputed.
  const fixed = StreamCapacity.configured(3);
  fixed.observeBatch(4, 10_000);
  assert.equal(fixed.streams, 3);
});

Deno.test("measured costs of several lanes: each lane serves its share, with the lanes' headroom", () => {
  const table = [1, 2, 4, 8, 16, 32].map((b) => ({
    batch: b,
    ms: 10 + 5 * b,
    computeMs: 8 + 5 * b,
    encodeMs: 6 + 5 * b,
    decodeMs: 2,
  }));
  const knobs = { stepMs: 240, maxBatch: 32, hardCap: 1000 };
  const plain = table.map(({ batch, ms, computeMs }) => ({ batch, ms, computeMs }));
  const one = StreamCapacity.measured({ table, at: 0 }, knobs, () => {});
  const two = StreamCapacity.measured({ table, at: 0, lanes: 2 }, knobs, () => {});
  const opts = { ...knobs, targetMs: 340 };
  assert.equal(one.streams, streamsHeld(plain, { ...opts, margin: marginFor(1) }));
  assert.equal(two.streams, streamsHeld(plain, { ...opts, lanes: 2, margin: marginFor(2) }));
  assert.ok(two.streams > one.streams, `${one.streams} streams on one lane, ${two.streams} on two`);
  assert.equal(marginFor(1), 0.1);
  assert.equal(marginFor(2), 0.2);
  assert.equal(marginFor(4), 0.2);
});
