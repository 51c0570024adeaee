/**
 * GET /ready, the capacity-aware readiness route (Kubernetes readinessProbe, load balancers):
 * 200 while a new stream would be accepted, 503 "full" at MAX_STREAMS, 200 again once a stream
 * ends. /status (liveness) stays 200 throughout.
 */
import { assertEquals, assertMatch } from "./asserts.ts";
import { connect, record, startTestServer } from "../server/harness.ts";

Deno.test("/ready is 503 while the instance is full, 200 otherwise; /status stays ok", async () => {
  await using s = await startTestServer({ MAX_STREAMS: "1" });
  const get = async (path: string) => {
    const r = await fetch(`${s.http}${path}`);
    return [r.status, await r.text()] as const;
  };
  const [c0, t0] = await get("/ready");
  assertEquals(c0, 200);
  assertMatch(t0, /^ready \(0\/1 streams\)/);
  const ws = await connect(s.url);
  const rec = record(ws);
  const [c1, t1] = await get("/ready");
  assertEquals(c1, 503);
  assertMatch(t1, /^full \(1\/1 streams\)/);
  assertEquals(await get("/status"), [200, "ok"]);
  ws.close();
  await rec.closed;
  for (let i = 0; i < 50 && (await get("/ready"))[0] !== 200; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assertEquals((await get("/ready"))[0], 200);
});
