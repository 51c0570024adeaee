/**
 * Who may hold a stream slot, and for how long: only a stream that sends audio, and at most
 * MAX_STREAMS_PER_CLIENT of them per client address.
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { handshakeFrom } from "./from_address.ts";
import { connect, record, startTestServer } from "./harness.ts";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";

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

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

Deno.test("one address past MAX_STREAMS_PER_CLIENT gets 503; another address still gets in", async () => {
  await using srv = await startTestServer({ MAX_STREAMS_PER_CLIENT: "3", MAX_STREAMS: "10" });
  const port = srv.server.port;
  const held = [];
  for (let i = 0; i < 3; i++) {
    const h = await handshakeFrom("127.0.0.2", port);
    assert.equal(h.status, 101, h.head);
    held.push(h);
  }
  const refused = await handshakeFrom("127.0.0.2", port);
  assert.equal(refused.status, 503, refused.head);
  refused.close();
  assert.equal(srv.server.stats().refused.client_streams, 1);
  assert.equal(srv.server.stats().refused.capacity, undefined, "not the global cap");

  const other = await handshakeFrom("127.0.0.3", port);
  assert.equal(other.status, 101, "a second client address is not affected");
  other.close();
  // A Deno client from 127.0.0.1 streams normally meanwhile.
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send(clipPcmBytes("seven_eight.wav"));
  ws.send(CTRL_EOS);
  await waitFor(() => rec.messages.some((m) => m.type === "final"), 10_000, "the final");
  ws.close(1000);
  await rec.closed;

  // The slot comes back when one of the three streams ends.
  held.pop()!.close();
  await waitFor(() => srv.server.stats().openStreams === 2, 5000, "the release");
  const again = await handshakeFrom("127.0.0.2", port);
  assert.equal(again.status, 101);
  again.close();
  for (const h of held) h.close();
});

Deno.test("/v1/status and /metrics report the per-client cap and its refusals", async () => {
  await using srv = await startTestServer({ MAX_STREAMS_PER_CLIENT: "1" });
  const first = await handshakeFrom("127.0.0.2", srv.server.port);
  const second = await handshakeFrom("127.0.0.2", srv.server.port);
  assert.equal(second.status, 503);
  const status = await (await fetch(`${srv.http}/v1/status`)).json();
  assert.equal(status.knobs.MAX_STREAMS_PER_CLIENT, 1);
  assert.equal(status.refused.client_streams, 1);
  const metrics = await (await fetch(`${srv.http}/metrics`)).text();
  assert.match(metrics, /parakeet_refused_total\{reason="client_streams"\} 1\n/);
  first.close();
  second.close();
});

Deno.test("behind a TRUSTED_PROXIES proxy clients are told apart by X-Forwarded-For; otherwise it is ignored", async () => {
  const via = async (port: number, forwardedFor: string) =>
    await handshakeFrom("127.0.0.1", port, "/ws", { "x-forwarded-for": forwardedFor });
  {
    await using srv = await startTestServer({
      MAX_STREAMS_PER_CLIENT: "1",
      TRUSTED_PROXIES: "127.0.0.1",
    });
    const a = await via(srv.server.port, "198.51.100.1");
    const b = await via(srv.server.port, "198.51.100.2");
    const a2 = await via(srv.server.port, "203.0.113.5, 198.51.100.1"); // a client's own entry first
    assert.deepEqual([a.status, b.status, a2.status], [101, 101, 503]);
    for (const h of [a, b, a2]) h.close();
  }
  {
    await using srv = await startTestServer({ MAX_STREAMS_PER_CLIENT: "1" });
    const a = await via(srv.server.port, "198.51.100.1");
    const forged = await via(srv.server.port, "198.51.100.2");
    assert.deepEqual([a.status, forged.status], [101, 503], "a forged header changes nothing");
    for (const h of [a, forged]) h.close();
  }
});
