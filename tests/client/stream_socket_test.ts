import assert from "node:assert/strict";
import { CTRL_EOS } from "../../src/protocol/protocol.ts";
import { openWebSocket, StreamSocket, withToken } from "../../src/client/stream_socket.ts";

interface Seen {
  url: string;
  headers: Headers;
  frames: (string | number)[];
}

/** A server on a free port that records the handshake and every frame (binary as its length). */
function recordingServer(onOpen: (ws: WebSocket) => void = () => {}) {
  const seen: Seen[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    // Kept before the upgrade takes the request over.
    const s: Seen = { url: req.url, headers: new Headers(req.headers), frames: [] };
    const protocol = s.headers.get("sec-websocket-protocol")?.split(",")[0].trim();
    const { socket, response } = Deno.upgradeWebSocket(req, { protocol });
    seen.push(s);
    socket.binaryType = "arraybuffer";
    socket.onopen = () => onOpen(socket);
    socket.onmessage = (e) => {
      s.frames.push(typeof e.data === "string" ? e.data : (e.data as ArrayBuffer).byteLength);
      if (e.data === CTRL_EOS || (e.data as ArrayBuffer).byteLength === CTRL_EOS.length) {
        socket.send(JSON.stringify({ type: "final", text: "done" }));
      }
    };
    return response;
  });
  return {
    url: `ws://127.0.0.1:${server.addr.port}/ws`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

Deno.test("withToken adds ?token= and keeps the other parameters", () => {
  assert.equal(withToken("ws://h:1/ws", undefined), "ws://h:1/ws");
  assert.equal(
    withToken("ws://h:1/ws?endpoint_ms=800", "a b"),
    "ws://h:1/ws?endpoint_ms=800&token=a+b",
  );
});

Deno.test("the handshake carries the token, the subprotocol and the headers", async () => {
  await using srv = recordingServer();
  const socket = await StreamSocket.open(`${srv.url}?x=1`, {
    token: "t0k",
    protocols: ["parakeet.v1"],
    headers: { "x-forwarded-for": "10.1.2.3" },
  });
  assert.equal(socket.ws.protocol, "parakeet.v1");
  assert.ok(socket.openedAt > 0);
  await socket.close(1000);
  const { url, headers } = srv.seen[0];
  assert.equal(new URL(url).searchParams.get("token"), "t0k");
  assert.equal(new URL(url).searchParams.get("x"), "1");
  assert.equal(headers.get("x-forwarded-for"), "10.1.2.3");
});

Deno.test("frames as given, EOS binary or text, paced at rtf; the final and the close are kept", async () => {
  await using srv = recordingServer();
  const socket = await StreamSocket.open(srv.url);
  const frames: number[] = [];
  const start = performance.now();
  // 100 ms of audio at rtf 2: about 50 ms.
  const r = await socket.sendPcm(new Uint8Array(3200), {
    frameBytes: 640,
    rtf: 2,
    onFrame: (sent) => frames.push(sent),
  });
  const tookMs = performance.now() - start;
  assert.deepEqual(frames, [640, 1280, 1920, 2560, 3200]);
  assert.equal(r.bytesSent, 3200);
  assert.ok(tookMs >= 45, `paced: ${tookMs} ms`);
  socket.sendEos();
  assert.equal(await socket.waitFor(() => socket.finals.length === 1, 5000), true);
  socket.sendEos("text");
  socket.send("hello");
  assert.equal(await socket.waitFor(() => socket.finals.length === 2, 5000), true);
  assert.deepEqual(socket.finals, ["done", "done"]);
  const closed = await socket.close(1000);
  assert.equal(closed?.code, 1000);
  assert.equal(socket.closeRecord?.code, 1000);
  assert.equal(socket.isOpen, false);
  assert.deepEqual(srv.seen[0].frames, [640, 640, 640, 640, 640, 12, CTRL_EOS, "hello"]);
});

Deno.test("messages before a listener is added are replayed to it; text that is not JSON is an error", async () => {
  await using srv = recordingServer((ws) => {
    ws.send(JSON.stringify({ type: "partial", text: "a" }));
    ws.send("not json");
    ws.send(JSON.stringify({ type: "error", code: "x", message: "y" }));
    ws.close(1008, "bye");
  });
  const socket = await StreamSocket.open(srv.url);
  const closed = await socket.closed;
  assert.deepEqual([closed.code, closed.reason], [1008, "bye"]);
  const seen: string[] = [];
  socket.onMessage((r) => seen.push(r.text));
  assert.equal(seen.length, 3);
  assert.deepEqual(socket.partials, ["a"]);
  assert.deepEqual(socket.errors, [
    { code: "client_bad_json", message: "not JSON: not json" },
    { code: "x", message: "y" },
  ]);
  // A wait that can no longer come true ends with the close.
  assert.equal(await socket.waitFor(() => socket.finals.length > 0, Infinity), false);
});

Deno.test("a refused or unreachable server rejects the open with why", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  await assert.rejects(openWebSocket(`ws://127.0.0.1:${port}/ws`), Error);
  await assert.rejects(StreamSocket.open(`ws://127.0.0.1:${port}/ws`), Error);
  await assert.rejects(StreamSocket.open("not a url"));
});
