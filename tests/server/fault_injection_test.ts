/**
 * Model faults injected in the inference worker (PARAKEET_TEST_FAULTS, test-only): each ends
 * only the streams of the affected batch with `internal_error` and 1011; a stream that was open
 * meanwhile and new connections carry on.
 */
import assert from "node:assert/strict";
import { type FaultKind, FAULTS_ENV } from "../../src/engine/fault_injection.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { connect, record, startTestServer, streamAudio } from "./harness.ts";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";

const cases: [FaultKind, RegExp][] = [
  ["throw", /injected fault: the model threw/],
  ["nan", /non-finite logit/],
  ["shape", /encoder returned \d+ values for dims/],
  ["hang", /passed its 1000 ms deadline/],
];

for (const [kind, message] of cases) {
  Deno.test(`fault "${kind}": only the affected stream ends with internal_error and 1011`, async () => {
    // Stream ids are given in connection order: the bystander is 1, the victim 2.
    Deno.env.set(FAULTS_ENV, JSON.stringify([{ stream: 2, kind }]));
    try {
      // A 1 s deadline for the "hang" case; the warm-up is one window, so that it fits the
      // deadline on a loaded machine too (a 32-window warm-up took longer than 1 s on 2 busy cores).
      await using srv = await startTestServer({ INFERENCE_TIMEOUT_S: "1", WARMUP_BATCH: "1" });
      const bystander = await connect(srv.url);
      const rec = record(bystander);
      const victim = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
      assert.equal(victim.closeCode, 1011, JSON.stringify(victim));
      assert.deepEqual(victim.finals, []);
      assert.equal(victim.errors.length, 1);
      assert.equal(victim.errors[0].code, "internal_error");
      assert.match(victim.errors[0].message, message);

      // The bystander, open all along, is served after the fault.
      bystander.send(clipPcmBytes("seven_eight.wav"));
      bystander.send(CTRL_EOS);
      const deadline = Date.now() + 10_000;
      while (!rec.messages.some((m) => m.type === "final") && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 20));
      }
      assert.ok(rec.messages.some((m) => m.type === "final"), "the bystander got its final");
      assert.ok(!rec.messages.some((m) => m.type === "error"));
      bystander.close();
      await rec.closed;

      // And a new connection is served.
      const after = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
      assert.equal(after.finals.length, 1);
      if (kind === "hang") assert.equal(srv.engine.restarts, 1, "the stuck worker was replaced");
      // Alerts see the restart: one for a stuck worker, none when the worker only reported.
      const metrics = await (await fetch(`${srv.http}/metrics`)).text();
      assert.match(
        metrics,
        new RegExp(`^parakeet_worker_restarts_total ${kind === "hang" ? 1 : 0}$`, "m"),
      );
    } finally {
      Deno.env.delete(FAULTS_ENV);
    }
  });
}
