import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { connect, record, startTestServer, streamAudio } from "./harness.ts";
import { RawWebSocket } from "./raw_ws.ts";
import { spawnServe } from "./serve_process.ts";
import { CTRL_EOS, CTRL_RESET } from "../../src/protocol/protocol.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

Deno.test("a binary frame over MAX_FRAME_BYTES gets message_too_large and close 1009; the limit itself passes", async () => {
  await using srv = await startTestServer({ MAX_FRAME_BYTES: "4000" });
  const ok = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"), { frameBytes: 4000 });
  assert.deepEqual(ok.errors, []);
  assert.equal(ok.finals.length, 1);

  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send(new Uint8Array(4001));
  assert.equal(await rec.closed, 1009);
  assert.equal(rec.messages[0].code, "message_too_large");
  assert.match(rec.messages[0].message!, /size 4001 bytes exceeds the limit of 4000/);
});

Deno.test("a malformed text frame gets invalid_message and the stream goes on; control frames work as text", async () => {
  await using srv = await startTestServer();
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send("start please");
  ws.send(clipPcmBytes("seven_eight.wav"));
  ws.send(CTRL_EOS);
  await waitFor(() => rec.messages.some((m) => m.type === "final"), 10_000, "the final");
  assert.deepEqual(rec.messages.map((m) => m.type).filter((t) => t !== "partial"), [
    "error",
    "final",
  ]);
  assert.equal(rec.messages[0].code, "invalid_message");
  ws.send("x".repeat(5000));
  assert.equal(await rec.closed, 1009, "text over MAX_TEXT_BYTES closes 1009");
});

Deno.test("the connection stays open after a final, for the next utterance", async () => {
  await using srv = await startTestServer();
  const pcm = clipPcmBytes("seven_eight.wav");
  const alone = (await streamAudio(srv.url, pcm)).finals[0];
  const ws = await connect(srv.url);
  const rec = record(ws);
  for (let i = 0; i < 2; i++) {
    ws.send(pcm);
    ws.send(CTRL_EOS);
  }
  await waitFor(
    () => rec.messages.filter((m) => m.type === "final").length === 2,
    10_000,
    "two finals",
  );
  assert.deepEqual(rec.messages.filter((m) => m.type === "final").map((m) => m.text), [
    alone,
    alone,
  ]);
  ws.close();
  await rec.closed;
});

Deno.test("RESET drops the utterance: the final covers only audio sent after it", async () => {
  await using srv = await startTestServer();
  const first = clipPcmBytes("digits_pi.wav");
  const second = clipPcmBytes("seven_eight.wav");
  const alone = (await streamAudio(srv.url, second)).finals;
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send(first);
  ws.send(new TextEncoder().encode(CTRL_RESET));
  ws.send(second);
  ws.send(CTRL_EOS);
  await waitFor(() => rec.messages.some((m) => m.type === "final"), 10_000, "the final");
  assert.deepEqual(rec.messages.filter((m) => m.type === "final").map((m) => m.text), alone);
  ws.close();
  await rec.closed;
});

Deno.test("EOS with no audio gets an empty final at once", async () => {
  await using srv = await startTestServer();
  const r = await streamAudio(srv.url, new Uint8Array(0));
  assert.deepEqual(r.finals, [""]);
});

Deno.test("past MAX_STREAMS the upgrade is refused with HTTP 503", async () => {
  await using srv = await startTestServer({ MAX_STREAMS: "2" });
  const a = await RawWebSocket.open(srv.server.port);
  const b = await RawWebSocket.open(srv.server.port);
  await assert.rejects(() => RawWebSocket.open(srv.server.port), /upgrade refused: HTTP\/1\.1 503/);
  assert.equal(srv.server.stats().refused.capacity, 1);
  a.close();
  await waitFor(() => srv.server.stats().openStreams === 1, 3000, "the slot to free");
  const c = await RawWebSocket.open(srv.server.port);
  c.close();
  b.close();
});

Deno.test("audio far ahead of the decoder gets rate_exceeded and close 1008", async () => {
  await using srv = await startTestServer({ MAX_BACKLOG_S: "1" });
  const ws = await connect(srv.url);
  const rec = record(ws);
  ws.send(new Uint8Array(32_000 * 4)); // 4 s at once
  assert.equal(await rec.closed, 1008);
  assert.equal(rec.messages.at(-1)?.code, "rate_exceeded");
  assert.match(rec.messages.at(-1)!.message!, /over the limit of 1\.0 s/);
});

Deno.test("an idle stream is closed with idle_timeout (1008)", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "1" });
  const ws = await connect(srv.url);
  const rec = record(ws);
  const t0 = Date.now();
  assert.equal(await rec.closed, 1008);
  assert.ok(Date.now() - t0 < 3000);
  assert.equal(rec.messages[0].code, "idle_timeout");
});

Deno.test("a client that vanishes mid-inference frees its slot; others are served", async () => {
  await using srv = await startTestServer();
  const raw = await RawWebSocket.open(srv.server.port);
  await raw.sendBinary(clipPcmBytes("digits_pi.wav"));
  await raw.sendText(CTRL_EOS);
  raw.close(); // TCP gone, no close frame
  await waitFor(() => srv.server.stats().openStreams === 0, 3000, "the slot to free");
  const r = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.equal(r.finals.length, 1);
});

Deno.test("a peer that never answers our close is released on the close deadline", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "1", CLOSE_TIMEOUT_S: "1" });
  const raw = await RawWebSocket.open(srv.server.port);
  // We read the server's close frame but never send ours and keep the TCP connection open.
  const { code, texts } = await raw.readUntilClose();
  assert.equal(code, 1008);
  assert.match(texts[0], /idle_timeout/);
  await waitFor(() => srv.server.stats().openStreams === 0, 3000, "the release");
  raw.close();
});

Deno.test("SIGTERM flushes the final of an open stream, closes it 1001 and exits 0", async () => {
  await using srv = await spawnServe();
  const ws = await connect(`ws://127.0.0.1:${srv.port}/ws`);
  const rec = record(ws);
  ws.send(clipPcmBytes("seven_eight.wav"));
  await sleep(300);
  srv.child.kill("SIGTERM");
  const code = await rec.closed;
  const { status } = await srv.exited(performance.now());
  const log = srv.log();
  assert.equal(code, 1001);
  assert.deepEqual(rec.messages.filter((m) => m.type !== "partial").map((m) => m.type), [
    "final",
    "error",
  ]);
  assert.ok((rec.messages.find((m) => m.type === "final")?.text ?? "").length > 0);
  assert.equal(rec.messages.at(-1)?.code, "shutting_down");
  assert.equal(status.code, 0, log);
  assert.match(log, /flushing finals of 1 open stream/);
});
