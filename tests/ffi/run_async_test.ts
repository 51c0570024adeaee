import assert from "node:assert/strict";
import { OrtError, OrtRuntime, tensor } from "../../ffi/mod.ts";
import { nativeHandleStats } from "../../ffi/handle.ts";
import { fixture } from "./helpers.ts";

const rt = OrtRuntime.load();
// loop.onnx adds x to an accumulator `iterations` times, checking ORT's terminate flag each time.
const loopFeeds = (iterations: bigint, n = 4) => ({
  x: tensor("float32", [n], new Float32Array(n).fill(1)),
  iterations: tensor("int64", [], BigInt64Array.of(iterations)),
});
const LONG = 10_000_000_000n; // hours of work: only a terminate ends it

Deno.test("runAsync: the event loop keeps running while ORT computes", async () => {
  using s = rt.createSession(fixture("loop.onnx"), { device: "cpu", intraOpThreads: 1 });
  let ticks = 0;
  const timer = setInterval(() => ticks++, 1);
  try {
    const controller = new AbortController();
    const run = s.runAsync(loopFeeds(LONG), undefined, { signal: controller.signal });
    while (ticks < 20) await new Promise((r) => setTimeout(r, 1));
    controller.abort();
    await assert.rejects(run);
  } finally {
    clearInterval(timer);
  }
  assert.ok(ticks >= 20);
});

Deno.test("runAsync: aborting the signal stops a stuck Run and rejects with the reason", async () => {
  using s = rt.createSession(fixture("loop.onnx"), { device: "cpu", intraOpThreads: 1 });
  const controller = new AbortController();
  const started = performance.now();
  const run = s.runAsync(loopFeeds(LONG), undefined, { signal: controller.signal });
  setTimeout(() => controller.abort(new Error("watchdog: inference took too long")), 50);
  await assert.rejects(run, /watchdog: inference took too long/);
  assert.ok(performance.now() - started < 10_000);
  assert.equal(s.runsInFlight, 0);
  // The session is still usable afterwards.
  assert.deepEqual((await s.runAsync(loopFeeds(3n))).acc.data, Float32Array.of(3, 3, 3, 3));
});

Deno.test("runAsync: an already aborted signal rejects without running", async () => {
  using s = rt.createSession(fixture("add.onnx"));
  await assert.rejects(
    s.runAsync({}, undefined, { signal: AbortSignal.abort(new Error("too late")) }),
    /too late/,
  );
});

Deno.test("terminateRuns: stops every in-flight run with ORT's terminate message", async () => {
  using s = rt.createSession(fixture("loop.onnx"), { device: "cpu", intraOpThreads: 1 });
  const runs = [s.runAsync(loopFeeds(LONG)), s.runAsync(loopFeeds(LONG))];
  await new Promise((r) => setTimeout(r, 30));
  assert.equal(s.runsInFlight, 2);
  s.terminateRuns();
  for (const r of await Promise.allSettled(runs)) {
    assert.equal(r.status, "rejected");
    const e = (r as PromiseRejectedResult).reason;
    assert.ok(e instanceof OrtError);
    assert.match(e.message, /Exiting due to terminate flag being set to true/);
  }
});

Deno.test("close: with a run in flight, the session is released when the run settles", async () => {
  const before = nativeHandleStats().session;
  const s = rt.createSession(fixture("loop.onnx"), { device: "cpu", intraOpThreads: 1 });
  const run = s.runAsync(loopFeeds(300_000n));
  s.close();
  assert.equal(s.closed, true);
  assert.equal(nativeHandleStats().session, before + 1, "released while ORT still runs it");
  assert.throws(() => s.run(loopFeeds(1n)), /it is closed/);
  const out = await run; // the in-flight run completes normally
  assert.equal(out.acc.data[0], 300_000);
  assert.equal(nativeHandleStats().session, before);
});

Deno.test("runAsync: concurrent runs on one session each get their own results", async () => {
  using s = rt.createSession(fixture("loop.onnx"));
  const results = await Promise.all([1n, 2n, 3n, 4n, 5n].map((k) => s.runAsync(loopFeeds(k))));
  assert.deepEqual(results.map((r) => r.acc.data[0]), [1, 2, 3, 4, 5]);
});
