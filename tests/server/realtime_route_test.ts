/**
 * `/v1/realtime` against the real server (tiny model): admission, the event flow of both turn
 * modes, G.711 input, clear, and refusals. The official client's view is in
 * tests/reference/openai_realtime_test.ts.
 */
import assert from "node:assert/strict";
import { resample } from "../../src/audio/resample.ts";
import { decodeMulaw } from "../../src/realtime/g711.ts";
import { clipSamples, longClipWav } from "../engine/fixtures.ts";
import { connect, startTestServer } from "./harness.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";
import { fakeRealtimeRoute, upgradeRequest } from "./route_doubles.ts";

type Event = { type: string; [field: string]: unknown };

/** A realtime socket that queues the events it receives, to be awaited by type. */
async function openRealtime(base: string, query = "?intent=transcription") {
  // session.created follows the upgrade at once: the socket records from before it opens.
  const socket = await StreamSocket.open(`${base.replace(/\/ws$/, "/v1/realtime")}${query}`);
  const ws = socket.ws;
  const events: Event[] = [];
  const waiters: (() => void)[] = [];
  const closed = socket.closed.then((c) => c.code);
  socket.onMessage((r) => {
    events.push(r.message as Event);
    for (const w of waiters.splice(0)) w();
  });
  /** Resolves with the first event of `type` at or after `from` in the log. */
  const next = async (type: string, from = 0): Promise<Event> => {
    for (;;) {
      const found = events.slice(from).find((e) => e.type === type);
      if (found) return found;
      const more = new Promise<void>((r) => waiters.push(r));
      const timeout = new Promise<"timeout">((r) => setTimeout(() => r("timeout"), 30_000));
      if (await Promise.race([more, timeout]) === "timeout") {
        throw new Error(`no ${type} in ${JSON.stringify(events.map((e) => e.type))}`);
      }
    }
  };
  const send = (event: Record<string, unknown>) => ws.send(JSON.stringify(event));
  const append = (bytes: Uint8Array, chunk = 9600) => {
    for (let i = 0; i < bytes.length; i += chunk) {
      const part = bytes.subarray(i, i + chunk);
      send({ type: "input_audio_buffer.append", audio: btoa(String.fromCharCode(...part)) });
    }
  };
  return { ws, events, next, send, append, closed };
}

function pcm16(samples: Float32Array): Uint8Array {
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((x, i) =>
    view.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true)
  );
  return bytes;
}

/** μ-law encoding by the nearest code (the decoder's table, searched). */
function mulaw(samples: Float32Array): Uint8Array {
  const table = decodeMulaw(new Uint8Array(256).map((_, i) => i));
  return samples.map((x) => {
    let best = 0;
    for (let c = 1; c < 256; c++) {
      if (Math.abs(table[c] - x) < Math.abs(table[best] - x)) best = c;
    }
    return best;
  }).reduce((out, code, i) => (out[i] = code, out), new Uint8Array(samples.length));
}

const manual = {
  type: "session.update",
  session: { type: "transcription", audio: { input: { turn_detection: null } } },
};

Deno.test("realtime: only a WebSocket upgrade, only transcription sessions", async () => {
  await using srv = await startTestServer();
  const plain = await fetch(`${srv.http}/v1/realtime?intent=transcription`);
  await plain.body?.cancel();
  assert.equal(plain.status, 426);
  await assert.rejects(connect(`${srv.url.replace(/\/ws$/, "/v1/realtime")}?intent=conversation`));
});

Deno.test("realtime: a refused intent is quoted, at most 50 characters of it", async () => {
  const { route, refused } = fakeRealtimeRoute();
  const req = upgradeRequest(`/v1/realtime?intent=${"x".repeat(20_000)}`);
  const res = route.handle(req, new URL(req.url), "10.0.0.1");
  assert.equal(res.status, 400);
  assert.deepEqual(refused, ["bad_request"]);
  assert.match(
    await res.text(),
    /^This server runs transcription sessions only: .*, got "x{50}"\n$/,
  );
  assert.equal(route.size, 0);
});

Deno.test("realtime: manual commits of μ-law audio complete in order; clear drops the buffer", async () => {
  await using srv = await startTestServer();
  const rt = await openRealtime(srv.url);
  assert.equal((await rt.next("session.created")).type, "session.created");
  rt.send({
    ...manual,
    session: {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcmu" }, turn_detection: null } },
    },
  });
  const updated = await rt.next("session.updated");
  assert.deepEqual(
    (updated.session as { audio: { input: { format: unknown } } }).audio.input.format,
    { type: "audio/pcmu" },
  );
  const law = (clip: string) => clipSamples(clip).then((s) => mulaw(resample(s, 16000, 8000)));
  // Audio then a clear: nothing of it is transcribed, and an empty buffer cannot be committed.
  rt.append(await law("six_thousand.wav"));
  rt.send({ type: "input_audio_buffer.clear" });
  await rt.next("input_audio_buffer.cleared");
  rt.send({ type: "input_audio_buffer.commit", event_id: "empty" });
  const refused = await rt.next("error");
  assert.deepEqual(
    [
      (refused.error as Record<string, unknown>).code,
      (refused.error as Record<string, unknown>).event_id,
    ],
    ["input_audio_buffer_commit_empty", "empty"],
  );
  // Two buffers committed back to back: two items, completed in order.
  for (const clip of ["digits_pi.wav", "six_thousand.wav"]) {
    rt.append(await law(clip));
    rt.send({ type: "input_audio_buffer.commit" });
  }
  const first = await rt.next("input_audio_buffer.committed");
  const second = await rt.next(
    "input_audio_buffer.committed",
    rt.events.indexOf(first) + 1,
  );
  assert.equal(second.previous_item_id, first.item_id);
  const done1 = await rt.next("conversation.item.input_audio_transcription.completed");
  const done2 = await rt.next(
    "conversation.item.input_audio_transcription.completed",
    rt.events.indexOf(done1) + 1,
  );
  assert.deepEqual([done1.item_id, done2.item_id], [first.item_id, second.item_id]);
  for (const done of [done1, done2]) {
    assert.ok((done.transcript as string).length > 0);
    const deltas = rt.events.filter((e) =>
      e.type === "conversation.item.input_audio_transcription.delta" && e.item_id === done.item_id
    );
    assert.equal(deltas.map((e) => e.delta).join(""), done.transcript);
  }
  rt.ws.close();
  await rt.closed;
});

Deno.test("realtime: server VAD closes turns at pauses, each with its speech events", async () => {
  await using srv = await startTestServer();
  const rt = await openRealtime(srv.url);
  const created = await rt.next("session.created");
  const turn = (created.session as { audio: { input: { turn_detection: { type: string } } } })
    .audio.input.turn_detection;
  assert.equal(turn.type, "server_vad");
  // Clips with a second of silence between them.
  const long = longClipWav(12, 1000);
  const samples = new Float32Array(long.pcm.length / 2);
  const view = new DataView(long.pcm.buffer);
  for (let i = 0; i < samples.length; i++) samples[i] = view.getInt16(i * 2, true) / 32768;
  rt.append(pcm16(resample(samples, 16000, 24000)));
  // The last turn ends with the audio: a commit flushes it.
  rt.send({ type: "input_audio_buffer.commit" });
  let from = 0;
  const items: string[] = [];
  for (let i = 0; i < 2; i++) {
    const started = await rt.next("input_audio_buffer.speech_started", from);
    const stopped = await rt.next("input_audio_buffer.speech_stopped", from);
    const committed = await rt.next("input_audio_buffer.committed", from);
    const done = await rt.next("conversation.item.input_audio_transcription.completed", from);
    for (const e of [stopped, committed, done]) assert.equal(e.item_id, started.item_id);
    assert.ok((stopped.audio_end_ms as number) > (started.audio_start_ms as number));
    assert.ok((done.transcript as string).length > 0);
    items.push(started.item_id as string);
    from = rt.events.indexOf(done) + 1;
  }
  assert.notEqual(items[0], items[1]);
  rt.ws.close();
  await rt.closed;
});

Deno.test("realtime: bad events are answered and the session goes on; binary is not audio", async () => {
  await using srv = await startTestServer();
  const rt = await openRealtime(srv.url);
  await rt.next("session.created");
  rt.ws.send("{not json");
  rt.ws.send(new Uint8Array([1, 2, 3]));
  rt.send({ type: "response.create", event_id: "r1" });
  // Quoting these in the error threw (a TypeError from the client's "toString"; the stack
  // overflowed on the nests), out of the socket's message handler: the server process exited.
  rt.ws.send('{"type":{"toString":1},"event_id":"t1"}');
  const deep = "[".repeat(12_000) + "]".repeat(12_000);
  rt.ws.send(`{"type":${deep},"event_id":"t2"}`);
  const format = `{"type":{"0":0,"nest":${deep}}}`;
  rt.ws.send(
    `{"type":"session.update","event_id":"t3","session":{"type":"transcription","audio":{"input":{"format":${format}}}}}`,
  );
  rt.send(manual);
  await rt.next("session.updated");
  const errors = rt.events.filter((e) => e.type === "error").map((e) =>
    e.error as Record<string, unknown>
  );
  assert.deepEqual(errors.map((e) => [e.code, e.event_id]), [
    ["invalid_json", null],
    ["invalid_json", null],
    ["invalid_value", "r1"],
    ["invalid_value", "t1"],
    ["invalid_value", "t2"],
    ["invalid_value", "t3"],
  ]);
  assert.equal(rt.ws.readyState, WebSocket.OPEN);
  rt.ws.close();
  await rt.closed;
});

Deno.test("realtime: a session holds a stream slot, shared with /ws", async () => {
  await using srv = await startTestServer({ MAX_STREAMS: "1" });
  const rt = await openRealtime(srv.url);
  await rt.next("session.created");
  await assert.rejects(connect(srv.url));
  const ready = await fetch(`${srv.http}/ready`);
  assert.equal(ready.status, 503);
  await ready.body?.cancel();
  rt.ws.close();
  await rt.closed;
  // The slot is free again once the session is released.
  for (let i = 0; i < 100 && srv.server.pending().streams > 0; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  const ws = await connect(srv.url);
  await assert.rejects(connect(`${srv.url.replace(/\/ws$/, "/v1/realtime")}`));
  ws.close();
});

Deno.test("realtime: an append over MAX_FRAME_BYTES is refused; a larger event closes 1009", async () => {
  await using srv = await startTestServer({ MAX_FRAME_BYTES: "3000" });
  const rt = await openRealtime(srv.url);
  await rt.next("session.created");
  rt.append(new Uint8Array(3001), 3001);
  const refused = await rt.next("error");
  assert.equal((refused.error as Record<string, unknown>).code, "audio_too_large");
  assert.equal(rt.ws.readyState, WebSocket.OPEN);
  rt.send({ type: "input_audio_buffer.commit", pad: "x".repeat(10_000) });
  assert.equal(await rt.closed, 1009);
  const last = rt.events.at(-1)!;
  assert.equal((last.error as Record<string, unknown>).code, "message_too_large");
});

Deno.test("realtime: no audio for IDLE_TIMEOUT_S ends the session with an error event", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "1" });
  const rt = await openRealtime(srv.url);
  await rt.next("session.created");
  assert.equal(await rt.closed, 1008);
  assert.equal((rt.events.at(-1)!.error as Record<string, unknown>).code, "idle_timeout");
});

Deno.test("realtime: a shutdown completes committed items, then closes 1001", async () => {
  const srv = await startTestServer();
  try {
    const rt = await openRealtime(srv.url);
    await rt.next("session.created");
    rt.send(manual);
    rt.append(pcm16(resample(await clipSamples("digits_pi.wav"), 16000, 24000)));
    rt.send({ type: "input_audio_buffer.commit" });
    const committed = await rt.next("input_audio_buffer.committed");
    const stopping = srv.server.shutdown();
    const done = await rt.next("conversation.item.input_audio_transcription.completed");
    assert.equal(done.item_id, committed.item_id);
    assert.ok((done.transcript as string).length > 0);
    assert.equal(await rt.closed, 1001);
    await stopping;
  } finally {
    await srv[Symbol.asyncDispose]();
  }
});

Deno.test("realtime: at the idle limit a server-VAD turn in progress is transcribed first", async () => {
  await using srv = await startTestServer({ IDLE_TIMEOUT_S: "2" });
  const rt = await openRealtime(srv.url);
  await rt.next("session.created");
  rt.append(pcm16(resample(await clipSamples("digits_pi.wav"), 16000, 24000)));
  assert.equal(await rt.closed, 1008);
  const types = rt.events.map((e) => e.type);
  const done = types.indexOf("conversation.item.input_audio_transcription.completed");
  assert.ok(done > 0, JSON.stringify(types));
  assert.equal(types.at(-1), "error");
  assert.equal((rt.events.at(-1)!.error as Record<string, unknown>).code, "idle_timeout");
  // Counted with the /ws closes (once the server's side of the socket has closed too).
  const closes = () => srv.server.stats().closesByCode["1008"];
  for (let i = 0; i < 100 && closes() === undefined; i++) {
    await new Promise((r) => setTimeout(r, 20));
  }
  assert.equal(closes(), 1);
});

Deno.test("realtime from a browser: the key as a subprotocol is checked, and `realtime` is answered", async () => {
  const token = "s3cret-realtime-key";
  await using srv = await startTestServer({ AUTH_TOKEN: token });
  const url = `${srv.url.replace(/\/ws$/, "/v1/realtime")}?intent=transcription`;
  // What OpenAI's browser client offers: the protocol, then its key.
  const open = (protocols: string[]) =>
    new Promise<WebSocket>((resolve, reject) => {
      const ws = new WebSocket(url, protocols);
      ws.onopen = () => resolve(ws);
      ws.onerror = () => reject(new Error(`refused with ${protocols.join(", ")}`));
    });
  const ws = await open(["realtime", `openai-insecure-api-key.${token}`]);
  assert.equal(ws.protocol, "realtime");
  const first = await new Promise<{ type: string }>((
    r,
  ) => (ws.onmessage = (m) => r(JSON.parse(m.data))));
  assert.equal(first.type, "session.created");
  const closed = new Promise((r) => (ws.onclose = r));
  ws.close();
  await closed;
  await assert.rejects(open(["realtime", "openai-insecure-api-key.wrong"]));
  await assert.rejects(open(["realtime"]), "no key, no session");
});
