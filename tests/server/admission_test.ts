/**
 * Who may hold a stream slot, and for how long: only a stream that sends audio, and at most
 * MAX_STREAMS_PER_CLIENT of them per client address.
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { connect, record, startTestServer } from "./harness.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("a stream sending only keepalives is closed at IDLE_TIMEOUT_S with 1008 idle_timeout", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "2" });
  const ws = await connect(srv.url);
  const rec = record(ws);
  const t0 = Date.now();
  let code: number | null = null;
  rec.closed.then((c) => code = c);
  // Keepalives four times a second, and empty binary frames: neither is audio.
  while (code === null && Date.now() - t0 < 10_000) {
    if (ws.readyState === WebSocket.OPEN) {
      ws.send('{"type":"keepalive"}');
      ws.send(new Uint8Array(0));
    }
    await sleep(250);
  }
  const elapsed = Date.now() - t0;
  assert.equal(code, 1008);
  assert.ok(elapsed >= 1900 && elapsed < 6000, `closed after ${elapsed} ms`);
  assert.deepEqual(rec.messages.map((m) => m.type), ["error"], "no speech, so no final");
  assert.equal(rec.messages[0].code, "idle_timeout");
  assert.match(rec.messages[0].message!, /no audio for 2 s/);
});

Deno.test("speech pending when the client goes silent gets its final before the idle close", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "2" });
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send(clipPcmBytes("seven_eight.wav")); // no EOS: the client just stops
  const code = await rec.closed;
  assert.equal(code, 1008);
  const kinds = rec.messages.map((m) => m.type).filter((t) => t !== "partial");
  assert.deepEqual(kinds, ["final", "error"]);
  const final = rec.messages.find((m) => m.type === "final")!;
  assert.ok((final.text ?? "").length > 0, "the final holds the speech");
  assert.equal(rec.messages.at(-1)?.code, "idle_timeout");
  assert.match(rec.messages.at(-1)!.message!, /the final above is complete/);
});
