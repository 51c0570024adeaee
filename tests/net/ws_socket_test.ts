/** The WebSocket layer on its own (an echo handler, no model): handshake, framing, liveness. */
import assert from "node:assert/strict";
import { openWebSocket } from "../../src/client/stream_socket.ts";
import { upgradeWebSocket } from "../../src/net/ws_upgrade.ts";
import { RawWebSocket } from "../server/raw_ws.ts";
import { connect, readToEnd, send, sleep, startHttp } from "./raw_http.ts";

const LIMITS = { maxBinaryBytes: 1000, maxTextBytes: 100 };

function echoServer(idleTimeoutMs = 10_000) {
  return startHttp((req) => {
    const up = upgradeWebSocket(req, { ...LIMITS, idleTimeoutMs });
    if (!up.ok) return new Response(up.reason, { status: 400 });
    up.socket.binaryType = "arraybuffer";
    up.socket.onmessage = (e) => up.socket.send(e.data);
    return up.response;
  });
}

function open(url: string): Promise<WebSocket> {
  return openWebSocket(url).catch(() => {
    throw new Error("refused");
  });
}

Deno.test("Deno's WebSocket client talks to the server socket: text and binary echo, clean close", async () => {
  await using srv = echoServer();
  const ws = await open(`ws://127.0.0.1:${srv.port}/`);
  const got: unknown[] = [];
  const two = Promise.withResolvers<void>();
  ws.onmessage = (e) => {
    got.push(e.data);
    if (got.length === 2) two.resolve();
  };
  ws.send("héllo");
  ws.send(new Uint8Array([1, 2, 3]));
  await two.promise;
  assert.equal(got[0], "héllo");
  assert.deepEqual(new Uint8Array(got[1] as ArrayBuffer), new Uint8Array([1, 2, 3]));
  const closed = new Promise<CloseEvent>((r) => (ws.onclose = r));
  ws.close(1000, "bye");
  const e = await closed;
  assert.equal(e.code, 1000);
  await sleep(100);
  assert.equal(srv.server.openConnections, 0);
});

Deno.test("a fragmented message within the limit is assembled; pings are answered", async () => {
  await using srv = echoServer();
  const raw = await RawWebSocket.open(srv.port, "/");
  await raw.sendFrame(0x2, new Uint8Array([1, 2]), { fin: false });
  await raw.sendFrame(0x9, new TextEncoder().encode("hi")); // a ping between fragments
  await raw.sendFrame(0x0, new Uint8Array([3]), { fin: false });
  await raw.sendFrame(0x0, new Uint8Array([4]));
  const pong = await raw.readFrame();
  assert.equal(pong?.opcode, 0xa);
  assert.equal(new TextDecoder().decode(pong!.payload), "hi");
  const echo = await raw.readFrame();
  assert.equal(echo?.opcode, 0x2);
  assert.deepEqual(echo?.payload, new Uint8Array([1, 2, 3, 4]));
  raw.close();
});

Deno.test("a handshake without Sec-WebSocket-Key is refused with 400, no exception", async () => {
  await using srv = echoServer();
  for (const key of ["", "Sec-WebSocket-Key: short\r\n"]) {
    const c = await connect(srv.port);
    await send(
      c,
      "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        `Sec-WebSocket-Version: 13\r\n${key}Connection: close\r\n\r\n`,
    );
    const end = await readToEnd(c, 5000);
    assert.match(end.text, /^HTTP\/1\.1 400 /);
    assert.match(end.text, /Sec-WebSocket-Key/);
  }
});

Deno.test("a peer that never answers pings is pinged, then closed 1001 soon after the idle timeout", async () => {
  await using srv = echoServer(2000);
  const raw = await RawWebSocket.open(srv.port, "/");
  const t0 = performance.now();
  let pings = 0;
  let code: number | null = null;
  for (;;) {
    const f = await raw.readFrame(); // read, never answered
    if (!f) break;
    if (f.opcode === 0x9) pings++;
    if (f.opcode === 0x8) {
      code = (f.payload[0] << 8) | f.payload[1];
      break;
    }
  }
  const ms = performance.now() - t0;
  raw.close();
  assert.equal(code, 1001);
  assert.ok(pings >= 1, "pinged before being closed");
  assert.ok(ms >= 1800 && ms < 6000, `closed after ${ms} ms (idle timeout 2 s + 1 s grace)`);
  await sleep(300);
  assert.equal(srv.count("ws_no_pong"), 1);
  assert.equal(srv.server.openConnections, 0);
});

Deno.test("a client that answers pings stays open past the idle timeout", async () => {
  await using srv = echoServer(1000);
  const ws = await open(`ws://127.0.0.1:${srv.port}/`);
  let closed = false;
  ws.onclose = () => (closed = true);
  await sleep(3500);
  assert.equal(closed, false);
  assert.equal(srv.count("ws_no_pong"), 0);
  const done = new Promise((r) => (ws.onclose = r));
  ws.close();
  await done;
});

Deno.test("a peer that kept sending while the event loop was blocked is not taken for dead", async () => {
  await using srv = echoServer(2000);
  // The client runs in a worker, so it goes on sending (every 100 ms) while this thread blocks.
  const source = `
    const ws = new WebSocket(${JSON.stringify(`ws://127.0.0.1:${srv.port}/`)});
    ws.onopen = () => { postMessage("open"); setInterval(() => ws.send(new Uint8Array(4)), 100); };
    ws.onclose = (e) => postMessage("closed " + e.code);
  `;
  const url = URL.createObjectURL(new Blob([source], { type: "application/javascript" }));
  const worker = new Worker(url, { type: "module" });
  const events: string[] = [];
  const opened = new Promise<void>((resolve) => {
    worker.onmessage = (e) => {
      events.push(e.data);
      if (e.data === "open") resolve();
    };
  });
  try {
    await opened;
    await sleep(300);
    // Longer than IDLE_TIMEOUT_S + its grace: a stall of the server's own making.
    const until = performance.now() + 3500;
    while (performance.now() < until) { /* blocked */ }
    await sleep(1500);
    assert.deepEqual(events, ["open"], "the socket stayed open");
    assert.equal(srv.count("ws_no_pong"), 0);
  } finally {
    worker.terminate();
    URL.revokeObjectURL(url);
  }
});

Deno.test("messages over the limit are refused before their payload is read: 1009 by default", async () => {
  await using srv = echoServer();
  for (
    const [opcode, bytes] of [[0x2, 1001], [0x1, 101]] as const
  ) {
    const raw = await RawWebSocket.open(srv.port, "/");
    // Two fragments, each within the limit, together over it.
    await raw.sendFrame(opcode, new Uint8Array(bytes - 1).fill(65), { fin: false });
    await raw.sendFrame(0x0, new Uint8Array(1).fill(65));
    const { code } = await raw.readUntilClose();
    raw.close();
    assert.equal(code, 1009);
  }
});

Deno.test("protocol violations close the connection (1002, invalid UTF-8 1007) and are counted", async () => {
  await using srv = echoServer();
  const cases: [number, (ws: RawWebSocket) => Promise<void>][] = [
    [1002, (ws) => ws.sendFrame(0x3, new Uint8Array(1))],
    [1002, (ws) => ws.sendFrame(0x2, new Uint8Array(1), { rsv: 1 })],
    [1007, (ws) => ws.sendFrame(0x1, new Uint8Array([0xc3, 0x28]))],
  ];
  for (const [expected, abuse] of cases) {
    const raw = await RawWebSocket.open(srv.port, "/");
    await abuse(raw);
    const { code } = await raw.readUntilClose();
    raw.close();
    assert.equal(code, expected);
  }
  await sleep(300);
  assert.equal(srv.count("ws_protocol_error"), 3);
  assert.equal(srv.server.openConnections, 0);
});

Deno.test("a message in a thousand one-byte fragments is assembled whole and in order", async () => {
  await using srv = echoServer();
  const raw = await RawWebSocket.open(srv.port, "/");
  for (let i = 0; i < 1000; i++) {
    await raw.sendFrame(i === 0 ? 0x2 : 0x0, new Uint8Array([i & 255]), { fin: i === 999 });
  }
  const echo = await raw.readFrame();
  assert.equal(echo?.payload.length, 1000);
  assert.ok(echo!.payload.every((b, i) => b === (i & 255)));
  raw.close();
});

Deno.test("a handler that throws closes its own connection with 1011; the server and other connections go on", async () => {
  const faults: string[] = [];
  await using srv = startHttp((req) => {
    const up = upgradeWebSocket(req, {
      ...LIMITS,
      idleTimeoutMs: 10_000,
      onHandlerError: (type, err) => faults.push(`${type}: ${(err as Error).message}`),
    });
    if (!up.ok) return new Response(up.reason, { status: 400 });
    up.socket.onmessage = (e) => {
      if (e.data === "boom") throw new TypeError("a fault the message found");
      up.socket.send(e.data);
    };
    return up.response;
  });
  const bystander = await open(`ws://127.0.0.1:${srv.port}/`);
  const victim = await RawWebSocket.open(srv.port, "/");
  await victim.sendFrame(0x1, new TextEncoder().encode("boom"));
  const close = await victim.readFrame();
  assert.equal(close?.opcode, 0x8);
  assert.equal(new DataView(close!.payload.buffer, close!.payload.byteOffset).getUint16(0), 1011);
  victim.close();
  assert.deepEqual(faults, ["message: a fault the message found"]);
  // The process is alive (reportError would have ended this test run) and so is the neighbour.
  const echoed = new Promise<string>((r) => (bystander.onmessage = (e) => r(e.data)));
  bystander.send("still here");
  assert.equal(await echoed, "still here");
  const closed = new Promise((r) => (bystander.onclose = r));
  bystander.close();
  await closed;
});
