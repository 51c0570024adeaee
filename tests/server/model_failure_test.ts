import assert from "node:assert/strict";
import type { BatchRunner } from "../../src/stream/batch_scheduler.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "./harness.ts";

Deno.test("a failed batch ends only its streams with internal_error and 1011; the next stream is served", async () => {
  let failures = 1;
  const faulty = (engine: BatchRunner): BatchRunner => ({
    // The failure comes after the client has sent everything: a client still sending when the
    // server closes may see the TCP reset before the close frame (the error message arrives
    // either way).
    run: async (request) => {
      if (failures-- <= 0) return await engine.run(request);
      await new Promise((r) => setTimeout(r, 300));
      throw new Error("injected model failure");
    },
  });
  await using srv = await startTestServer({}, faulty);
  const broken = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.equal(broken.closeCode, 1011);
  assert.deepEqual(broken.finals, []);
  assert.equal(broken.errors[0].code, "internal_error");
  assert.match(broken.errors[0].message, /injected model failure/);

  const next = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.deepEqual(next.errors, []);
  assert.equal(next.finals.length, 1);
  assert.equal(srv.server.stats().batchFailures, 1);
});

Deno.test("a batch that never returns holds up neither its neighbours nor the shutdown", async () => {
  let hang = true;
  const hanging = (engine: BatchRunner): BatchRunner => ({
    run: (request) => {
      if (!hang) return engine.run(request);
      hang = false;
      return new Promise(() => {}); // never settles
    },
  });
  // The wrapper hangs outside the engine, so the scheduler's own view must not wedge other
  // streams: MAX_INFLIGHT_STEPS 2 leaves room for the next batch.
  await using srv = await startTestServer(
    {
      MAX_INFLIGHT_STEPS: "2",
      IDLE_TIMEOUT_S: "2",
      SHUTDOWN_TIMEOUT_S: "1",
    },
    hanging,
  );
  const stuck = streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  const ok = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.equal(ok.finals.length, 1, "a neighbour is served while a batch hangs");
  const s = await stuck;
  assert.equal(s.closeCode, 1008, "the stuck stream ends (idle) instead of waiting forever");
});
