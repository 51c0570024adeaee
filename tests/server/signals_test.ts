/**
 * `serve` as a process under SIGTERM, SIGINT and SIGHUP: open streams get their finals and a
 * 1001 close, pending HTTP requests a 503 `shutting_down`, and the process exits within
 * SHUTDOWN_TIMEOUT_S whatever is pending: 0 after a clean drain, 1 when the last-resort timer
 * had to cut the drain off.
 */
import assert from "node:assert/strict";
import { FAULTS_ENV } from "../../src/engine/fault_injection.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { wavOf } from "../audio/wav_header.ts";
import { connect, record } from "./harness.ts";
import { RawWebSocket } from "./raw_ws.ts";
import { spawnServe } from "./serve_process.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean | Promise<boolean>, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

/** Audio of a clip cut in the middle of its speech: no EOS follows. */
function halfUtterance(clip: string): Uint8Array {
  const pcm = clipPcmBytes(clip);
  return pcm.subarray(0, Math.floor(pcm.length / 4) * 2);
}

type Recorded = ReturnType<typeof record>;

/** What a stream saw after its audio: a final with words, then `shutting_down`, then 1001. */
async function assertFlushedAndClosed(rec: Recorded, label: string): Promise<void> {
  assert.equal(await rec.closed, 1001, label);
  const ends = rec.messages.filter((m) => m.type !== "partial");
  assert.deepEqual(ends.map((m) => m.type), ["final", "error"], label);
  assert.ok((ends[0].text ?? "").length > 0, `${label}: the final has the words so far`);
  assert.equal(ends[1].code, "shutting_down", label);
}

Deno.test("SIGHUP drains: three streams mid-utterance each get a final then 1001, exit 0 within SHUTDOWN_TIMEOUT_S", async () => {
  await using srv = await spawnServe({ SHUTDOWN_TIMEOUT_S: "5" });
  const url = `ws://127.0.0.1:${srv.port}/ws`;
  const streams = await Promise.all(
    ["digits_pi.wav", "seven_eight.wav", "six_thousand.wav"].map(async (clip) => {
      const ws = await connect(url);
      const rec = record(ws);
      ws.send(halfUtterance(clip));
      return { clip, rec };
    }),
  );
  // Mid-utterance for sure: each has been decoded into a partial, none has ended.
  await waitFor(
    () => streams.every((s) => s.rec.messages.some((m) => m.type === "partial")),
    20_000,
    "a partial on every stream",
  );
  const start = performance.now();
  srv.child.kill("SIGHUP");
  for (const s of streams) await assertFlushedAndClosed(s.rec, s.clip);
  const { status, afterMs } = await srv.exited(start);
  const log = srv.log();
  assert.equal(status.signal, null, log);
  assert.equal(status.code, 0, log);
  assert.ok(afterMs < 5000, `exited ${Math.round(afterMs)} ms after SIGHUP`);
  assert.match(log, /SIGHUP received: draining \(3 open stream\(s\)/);
  assert.match(log, /stopped \(exit 0\)/);
});

Deno.test("SIGINT drains, and a second SIGINT while draining neither cuts it short nor kills the process", async () => {
  await using srv = await spawnServe({ SHUTDOWN_TIMEOUT_S: "8", CLOSE_TIMEOUT_S: "2" });
  const ws = await connect(`ws://127.0.0.1:${srv.port}/ws`);
  const rec = record(ws);
  ws.send(halfUtterance("digits_pi.wav"));
  // A peer that never answers the server's close frame holds the drain open until its close
  // deadline (CLOSE_TIMEOUT_S): the window for the second signal.
  const raw = await RawWebSocket.open(srv.port);
  await raw.sendFrame(0x2, halfUtterance("seven_eight.wav"));
  await waitFor(() => rec.messages.some((m) => m.type === "partial"), 20_000, "a partial");
  const start = performance.now();
  srv.child.kill("SIGINT");
  await assertFlushedAndClosed(rec, "the WebSocket client");
  const held = await raw.readUntilClose();
  assert.equal(held.code, 1001);
  const ends = held.texts.filter((t) => !t.includes('"type":"partial"'));
  assert.match(ends[0], /"type":"final"/);
  assert.match(ends[1], /shutting_down/);
  srv.child.kill("SIGINT");
  await srv.logged(/SIGINT received while draining: still draining/);
  const { status, afterMs } = await srv.exited(start);
  raw.close();
  const log = srv.log();
  assert.equal(status.signal, null, log);
  assert.equal(status.code, 0, log);
  assert.ok(afterMs < 8000, `exited ${Math.round(afterMs)} ms after SIGINT`);
  assert.match(log, /SIGINT received: draining \(2 open stream\(s\)/);
});

/** A WAV of `clip` repeated `times` times: a long upload. */
function longWav(clip: string, times: number): Uint8Array<ArrayBuffer> {
  const pcm = clipPcmBytes(clip);
  const all = new Uint8Array(pcm.length * times);
  for (let i = 0; i < times; i++) all.set(pcm, i * pcm.length);
  return wavOf(all);
}

/** Upload slots held, and uploads past decoding, in inference (from /v1/status). */
async function uploadState(port: number): Promise<{ running: number; transcribing: number }> {
  return (await (await fetch(`http://127.0.0.1:${port}/v1/status`)).json()).uploads;
}

Deno.test("SIGTERM answers an upload still arriving and an upload decoding with 503 shutting_down and exits 0 within SHUTDOWN_TIMEOUT_S", async () => {
  await using srv = await spawnServe({ SHUTDOWN_TIMEOUT_S: "3", FILE_CHUNK_S: "2" });
  // 1. A body that stops arriving: the headers promise a megabyte, a few bytes come.
  using arriving = await Deno.connect({ hostname: "127.0.0.1", port: srv.port });
  await arriving.write(new TextEncoder().encode(
    "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: 127.0.0.1\r\n" +
      "Content-Type: multipart/form-data; boundary=XX\r\nContent-Length: 1000000\r\n\r\n" +
      '--XX\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n\r\nRIFF',
  ));
  // 2. A long file (3 min, ~7 s of decoding here), fully sent, being transcribed.
  const form = new FormData();
  form.append("file", new Blob([longWav("digits_pi.wav", 60)]), "long.wav");
  const decoding = fetch(`http://127.0.0.1:${srv.port}/v1/audio/transcriptions`, {
    method: "POST",
    body: form,
  });
  // Both hold an upload slot (one is taken before the body); one is past decoding, in inference.
  await waitFor(
    async () => {
      const u = await uploadState(srv.port);
      return u.running === 2 && u.transcribing === 1;
    },
    20_000,
    "the upload to decode",
  );
  const start = performance.now();
  srv.child.kill("SIGTERM");

  const answer = await decoding;
  assert.equal(answer.status, 503, `${await answer.clone().text()}\n${srv.log()}`);
  assert.equal((await answer.json()).error.code, "shutting_down");

  let head = "";
  const buf = new Uint8Array(4096);
  while (!head.includes("}}")) {
    const n = await arriving.read(buf);
    if (n === null) break;
    head += new TextDecoder().decode(buf.subarray(0, n));
  }
  assert.match(head, /^HTTP\/1\.1 503 /);
  const body = JSON.parse(head.slice(head.indexOf("\r\n\r\n") + 4));
  assert.equal(body.error.code, "shutting_down");
  assert.equal(body.error.type, "server_error");

  const { status, afterMs } = await srv.exited(start);
  const log = srv.log();
  assert.equal(status.signal, null, log);
  assert.equal(status.code, 0, log);
  assert.ok(afterMs < 3000, `exited ${Math.round(afterMs)} ms after SIGTERM`);
  assert.match(log, /SIGTERM received: draining \(1 upload\(s\) transcribing, 2 HTTP request\(s\)/);
});

Deno.test("SIGTERM with the model engine hung: the last-resort timer exits 1 within SHUTDOWN_TIMEOUT_S, naming what was pending", async () => {
  // Stream 1 (the first connection) hangs the worker; the engine's own deadline is far off.
  await using srv = await spawnServe({
    SHUTDOWN_TIMEOUT_S: "2",
    INFERENCE_TIMEOUT_S: "120",
    [FAULTS_ENV]: JSON.stringify([{ stream: 1, kind: "hang" }]),
  });
  const ws = await connect(`ws://127.0.0.1:${srv.port}/ws`);
  const rec = record(ws);
  ws.send(halfUtterance("digits_pi.wav"));
  await waitFor(
    async () => {
      const status = await (await fetch(`http://127.0.0.1:${srv.port}/v1/status`)).json();
      return status.batches.inflight > 0;
    },
    20_000,
    "the hung batch",
  );
  const start = performance.now();
  srv.child.kill("SIGTERM");
  const { status, afterMs } = await srv.exited(start);
  const log = srv.log();
  assert.equal(status.signal, null, log);
  assert.equal(status.code, 1, log);
  // 2 s, plus a margin for a loaded machine to run the timer and exit.
  assert.ok(afterMs < 3500, `exited ${Math.round(afterMs)} ms after SIGTERM`);
  assert.match(
    log,
    /SIGTERM received: draining \(1 open stream\(s\), 1 model batch\(es\) running\)/,
  );
  assert.match(
    log,
    /drain did not finish within 2 s \(SHUTDOWN_TIMEOUT_S\); exiting with 1; still pending: .*1 model batch\(es\) running/,
  );
  assert.ok(!rec.messages.some((m) => m.type === "final"), "no final could be made");
  ws.close();
});

Deno.test("SIGTERM while the model loads: the server stops as soon as it is up, exit 0, never killed by the signal", async () => {
  // A large warm-up batch keeps start-up going for a while after the model line.
  await using srv = await spawnServe(
    { SHUTDOWN_TIMEOUT_S: "20", MAX_BATCH: "128", WARMUP_BATCH: "128" },
    /model /,
  );
  const start = performance.now();
  srv.child.kill("SIGTERM");
  const { status, afterMs } = await srv.exited(start);
  const log = srv.log();
  assert.equal(status.signal, null, log);
  assert.equal(status.code, 0, log);
  assert.ok(afterMs < 20_000, `exited ${Math.round(afterMs)} ms after SIGTERM`);
  assert.match(log, /SIGTERM received: draining \(the model still loading\)/);
  assert.match(log, /stopped \(exit 0\)/);
});
