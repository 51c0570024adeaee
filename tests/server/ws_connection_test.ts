import assert from "node:assert/strict";
import type { ServerMessage } from "../../src/protocol/protocol.ts";
import type { ClientMessage } from "../../src/protocol/protocol.ts";
import { type ConnectionLimits, WsConnection } from "../../src/server/ws_connection.ts";
import type { StreamSession } from "../../src/stream/stream_session.ts";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";

/** A socket whose buffering and close handshake the test controls. */
class FakeSocket {
  readyState: number = WebSocket.OPEN;
  bufferedAmount = 0;
  binaryType = "blob";
  sent: string[] = [];
  closedWith: [number, string] | null = null;
  /** When false, close() never completes (a peer that ignores our close frame). */
  peerAnswersClose = true;
  onmessage: ((e: { data: unknown }) => void) | null = null;
  onclose: (() => void) | null = null;
  onerror: (() => void) | null = null;
  send(data: string) {
    this.sent.push(data);
  }
  close(code: number, reason: string) {
    this.closedWith = [code, reason];
    this.readyState = WebSocket.CLOSING;
    if (this.peerAnswersClose) {
      this.readyState = WebSocket.CLOSED;
      queueMicrotask(() => this.onclose?.());
    }
  }
  deliver(data: unknown) {
    this.onmessage?.({ data });
  }
  messages(): { type: string; code?: string; text?: string; message?: string }[] {
    return this.sent.map((s) => JSON.parse(s));
  }
}

/** A session stand-in: records messages, and lets the test emit partials and finals. */
class FakeSession {
  id = 1;
  received: ClientMessage[] = [];
  closed = false;
  /** Speech waiting for its final. */
  pending = false;
  emit!: (m: ServerMessage) => void;
  receive(m: ClientMessage) {
    this.received.push(m);
    return null;
  }
  close() {
    this.closed = true;
  }
}

const LIMITS: ConnectionLimits = {
  maxBinaryBytes: 1000,
  maxTextBytes: 100,
  maxMessagesPerS: 50,
  idleTimeoutMs: 10_000,
  sessionMaxMs: 10_000,
  slowConsumerBytes: 1000,
  slowConsumerMs: 150,
  closeTimeoutMs: 150,
  closeLingerMs: 0,
};

function setup(limits: Partial<ConnectionLimits> = {}) {
  const socket = new FakeSocket();
  const session = new FakeSession();
  let released = 0;
  const conn = new WsConnection(
    socket as unknown as WebSocket,
    (send) => {
      session.emit = send;
      return session as unknown as StreamSession;
    },
    { ...LIMITS, ...limits },
    { wake: () => {}, release: () => released++, log: () => {} },
  );
  return { socket, session, conn, released: () => released };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function waitFor(check: () => boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(10);
  }
}

Deno.test("WsConnection drops partials but never finals for a client that stops reading", async () => {
  const { socket, session, conn } = setup();
  session.emit({ type: "partial", text: "a" });
  socket.bufferedAmount = 5000;
  session.emit({ type: "partial", text: "ab" });
  session.emit({ type: "final", text: "abc" });
  assert.deepEqual(socket.messages().map((m) => m.text), ["a", "abc"]);
  assert.equal(conn.droppedPartials, 1);
  // Still unread after slowConsumerMs: slow_consumer, close 1008.
  await sleep(400);
  assert.deepEqual(socket.closedWith, [1008, "slow_consumer"]);
  assert.equal(socket.messages().at(-1)?.code, "slow_consumer");
});

Deno.test("WsConnection keeps a client that catches up with its reading", async () => {
  const { socket, session, conn } = setup();
  socket.bufferedAmount = 5000;
  session.emit({ type: "partial", text: "x" });
  socket.bufferedAmount = 0; // drained
  await sleep(300);
  assert.equal(socket.closedWith, null);
  conn.release();
});

Deno.test("WsConnection releases a peer that never answers the close within the deadline", async () => {
  const { socket, conn, session, released } = setup();
  socket.peerAnswersClose = false;
  conn.fail("internal_error", "boom");
  assert.deepEqual(socket.closedWith, [1011, "internal_error"]);
  assert.ok(session.closed, "the stream stops at once");
  assert.equal(released(), 0);
  await sleep(250);
  assert.equal(released(), 1, "released on the deadline although close never fired");
  conn.release();
  socket.onclose?.();
  assert.equal(released(), 1, "release runs once whatever fires later");
});

Deno.test("WsConnection closes an idle stream with idle_timeout; audio resets it", async () => {
  const { socket } = setup({ idleTimeoutMs: 200 });
  for (let i = 0; i < 3; i++) {
    await sleep(120);
    socket.deliver(new Uint8Array([1, 2]).buffer);
  }
  assert.equal(socket.closedWith, null);
  await sleep(300);
  assert.deepEqual(socket.closedWith, [1008, "idle_timeout"]);
  assert.match(socket.messages().at(-1)?.message ?? "", /no audio for 0\.2 s/);
});

Deno.test("WsConnection: a stall of the server's event loop is not taken for the client's silence", async () => {
  const { socket } = setup({ idleTimeoutMs: 200 });
  // Audio the client sent during the stall, read only after it (after the idle timer is due).
  setTimeout(() => socket.deliver(new Uint8Array([1, 2]).buffer), 250);
  const until = performance.now() + 2000;
  while (performance.now() < until) { /* the event loop is blocked */ }
  await sleep(100);
  assert.equal(socket.closedWith, null, "still open once the queued audio is read");
  await sleep(500);
  assert.deepEqual(socket.closedWith, [1008, "idle_timeout"], "then idle as usual");
});

Deno.test("WsConnection: keepalives and empty frames do not hold a stream open without audio", async () => {
  const { socket } = setup({ idleTimeoutMs: 200 });
  const t0 = Date.now();
  while (socket.closedWith === null && Date.now() - t0 < 3000) {
    socket.deliver('{"type":"keepalive"}');
    socket.deliver(new ArrayBuffer(0));
    await sleep(40);
  }
  assert.deepEqual(socket.closedWith, [1008, "idle_timeout"]);
  assert.ok(Date.now() - t0 < 1500, `closed after ${Date.now() - t0} ms`);
  assert.deepEqual(socket.messages().map((m) => m.type), ["error"], "nothing to flush: no final");
});

Deno.test("WsConnection: speech pending at the idle limit gets its final, then idle_timeout", async () => {
  // One idle period of 1 s is also the time the flush gets: ample for the test to answer it.
  const { socket, session } = setup({ idleTimeoutMs: 1000 });
  socket.deliver(new Uint8Array([1, 2]).buffer);
  session.pending = true;
  await waitFor(() => session.received.at(-1)?.kind === "eos", 5000, "the flush");
  assert.equal(socket.closedWith, null, "waits for the final");
  session.emit({ type: "final", text: "pending words" });
  assert.deepEqual(socket.messages().map((m) => m.type), ["final", "error"]);
  assert.equal(socket.messages()[1].code, "idle_timeout");
  assert.match(socket.messages()[1].message ?? "", /the final above is complete/);
  assert.deepEqual(socket.closedWith, [1008, "idle_timeout"]);
});

Deno.test("WsConnection: a final that never comes after the idle flush does not hold the slot", async () => {
  const { socket, session } = setup({ idleTimeoutMs: 500 });
  session.pending = true;
  await waitFor(() => session.received.at(-1)?.kind === "eos", 5000, "the flush");
  assert.equal(socket.closedWith, null);
  await waitFor(() => socket.closedWith !== null, 5000, "the close");
  assert.deepEqual(socket.closedWith, [1008, "idle_timeout"]);
  assert.deepEqual(socket.messages().map((m) => m.type), ["error"]);
});

Deno.test("WsConnection answers a message flood with message_rate_exceeded", () => {
  const { socket, session } = setup();
  for (let i = 0; i < 200; i++) socket.deliver(new ArrayBuffer(0));
  assert.deepEqual(socket.closedWith, [1008, "message_rate_exceeded"]);
  assert.ok(session.received.length <= 51, `${session.received.length} messages got through`);
});

Deno.test("WsConnection at the session cap flushes the final, then closes session_timeout", async () => {
  const { socket, session } = setup({ sessionMaxMs: 100 });
  await sleep(150);
  assert.deepEqual(session.received.at(-1), { kind: "eos" });
  assert.equal(socket.closedWith, null, "waits for the final");
  session.emit({ type: "final", text: "done" });
  assert.deepEqual(socket.messages().map((m) => m.type), ["final", "error"]);
  assert.deepEqual(socket.closedWith, [1008, "session_timeout"]);
});

Deno.test("WsConnection sends invalid_message for a bad text frame and keeps the stream", () => {
  const { socket, session, conn } = setup();
  socket.deliver("hello");
  assert.equal(socket.messages()[0].code, "invalid_message");
  assert.equal(socket.closedWith, null);
  socket.deliver(CTRL_EOS);
  assert.deepEqual(session.received.at(-1), { kind: "eos" });
  conn.release();
});

Deno.test("WsConnection sends the close frame a moment after the error message", async () => {
  const { socket, conn } = setup({ closeLingerMs: 100 });
  conn.fail("rate_exceeded", "too fast");
  assert.equal(socket.messages()[0].code, "rate_exceeded");
  assert.equal(socket.closedWith, null, "not yet");
  assert.ok(conn.closing, "but the stream is already closing: nothing more is accepted");
  await sleep(150);
  assert.deepEqual(socket.closedWith, [1008, "rate_exceeded"]);
});
