/**
 * Fuzz of the WebSocket opening handshake (`src/net/ws_handshake.ts`): any upgrade request gives
 * a key or a reason, never an exception, exactly when RFC 6455 §4.2.1 says; the answer is the
 * RFC's accept value; and over a connection in memory an upgrade request followed by frames gets
 * 101 or 400 and then the same frames from the server, however the bytes arrive.
 */
import assert from "node:assert/strict";
import { findHeadEnd, parseRequestHead } from "../../src/net/http_head.ts";
import { parseFrameHeader } from "../../src/net/ws_frame.ts";
import { acceptKey, checkHandshake } from "../../src/net/ws_handshake.ts";
import { offeredProtocols, upgradeWebSocket } from "../../src/net/ws_upgrade.ts";
import { concat, fuzz } from "../fuzz/mutator.ts";
import { everyByte, randomCuts } from "../fuzz/memory_conn.ts";
import { serveBytes } from "../fuzz/memory_http.ts";
import { frameStreams } from "../fuzz/ws_frames.ts";

const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);
const KEYS = ["dGhlIHNhbXBsZSBub25jZQ==", "AQIDBAUGBwgJCgsMDQ4PEA==", "x3JJHMbDL1EzLkh9GBhXDw=="];

const UPGRADES = [
  `GET /ws HTTP/1.1\r\nHost: 127.0.0.1:8000\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${KEYS[0]}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
  `GET /v1/realtime?intent=transcription HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, Upgrade\r\n` +
  `Upgrade: WebSocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key:  ${KEYS[1]} \r\n` +
  "Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.sk-abc\r\nOrigin: http://h\r\n\r\n",
  `GET /ws?encoding=webm HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: upgrade\r\n` +
  `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${KEYS[2]}\r\n` +
  "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n",
  // Refused: no key.
  "GET /ws HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
  "Sec-WebSocket-Version: 13\r\n\r\n",
];

/** The acceptance rules of RFC 6455 §4.2.1, restated for a differential check. */
function acceptable(method: string, h: Headers): boolean {
  const has = (name: string, token: string) =>
    (h.get(name) ?? "").split(",").some((t) => t.trim().toLowerCase() === token);
  return method === "GET" && has("upgrade", "websocket") && has("connection", "upgrade") &&
    h.get("sec-websocket-version")?.trim() === "13" &&
    /^[A-Za-z0-9+/]{22}==$/.test(h.get("sec-websocket-key")?.trim() ?? "") &&
    atob(h.get("sec-websocket-key")!.trim()).length === 16;
}

Deno.test("fuzz: a handshake gives a key or a reason exactly when RFC 6455 accepts it", async () => {
  const corpus = UPGRADES.map(latin1);
  let accepted = 0;
  await fuzz({ seed: 0x48534b, corpus, cases: 40_000, randomCases: 2000 }, async (input) => {
    const parsed = parseRequestHead(input.subarray(0, Math.max(0, findHeadEnd(input))));
    if (!parsed.ok) return;
    const headers = new Headers();
    for (const [name, value] of parsed.head.headers) headers.append(name, value);
    const check = checkHandshake(parsed.head.method, headers);
    assert.equal(check.ok, acceptable(parsed.head.method, headers));
    if (!check.ok) {
      assert.ok(check.reason.length > 0);
      return;
    }
    accepted++;
    if (accepted % 50 !== 0) return; // the digest is the slow part: check every 50th
    const digest = await crypto.subtle.digest(
      "SHA-1",
      new TextEncoder().encode(check.key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"),
    );
    assert.equal(acceptKey(check.key), btoa(String.fromCharCode(...new Uint8Array(digest))));
  });
  assert.ok(accepted > 2000, `${accepted} accepted`);
});

const LIMITS = { maxBinaryBytes: 1000, maxTextBytes: 100, idleTimeoutMs: 60_000 };

/** A route as /v1/realtime's: upgrades, naming "realtime" when offered, echoes messages. */
function upgrading(req: Request): Response {
  const up = upgradeWebSocket(
    req,
    LIMITS,
    offeredProtocols(req).includes("realtime") ? "realtime" : undefined,
  );
  if (!up.ok) return new Response(up.reason, { status: 400 });
  up.socket.binaryType = "arraybuffer";
  up.socket.onmessage = (e) => up.socket.send(e.data);
  return up.response;
}

/**
 * The server's frames after the 101, as [opcode, payload]; pongs left out (one is queued at a
 * time, so how many a ping flood gets depends on when the writer drains).
 */
function serverFrames(out: Uint8Array): [number, string][] {
  const frames: [number, string][] = [];
  for (let at = 0; at < out.length;) {
    const h = parseFrameHeader(out.subarray(at));
    assert.ok(h.kind === "header" && !h.header.masked, "a well-formed server frame");
    const { opcode, size, length } = h.header;
    const payload = out.subarray(at + size, at + size + length);
    if (opcode !== 0xa) frames.push([opcode, Array.from(payload, (b) => b.toString(16)).join()]);
    at += size + length;
  }
  return frames;
}

Deno.test("fuzz: over a connection, an upgrade gets 101 or 400 and then the same frames however it arrives", async () => {
  const heads = UPGRADES.map(latin1);
  const frames = frameStreams();
  const corpus = heads.flatMap((h) => frames.slice(0, 6).map((f) => concat(h, f)));
  const seen = new Map<string, number>();
  await fuzz({ seed: 0x55504752, corpus, cases: 3000, randomCases: 100 }, async (input, rng) => {
    const t0 = performance.now();
    const whole = await serveBytes(input, [], upgrading, {}, { holdOpen: true });
    assert.deepEqual(whole.errors, [], "no handler threw");
    const first = whole.statuses[0];
    if (first !== undefined) {
      assert.ok(first === 101 || first === 400, `status ${first}`);
      seen.set(String(first), (seen.get(String(first)) ?? 0) + 1);
    }
    if (first === 101) assert.equal(whole.statuses.length, 1);
    for (const cuts of [randomCuts(rng, input.length, 16), everyByte(input.length)]) {
      const split = await serveBytes(input, cuts, upgrading, {}, { holdOpen: true });
      assert.deepEqual(split.statuses, whole.statuses, `cut at ${cuts.slice(0, 16)}`);
      assert.deepEqual(
        serverFrames(split.afterUpgrade),
        serverFrames(whole.afterUpgrade),
        `cut at ${cuts.slice(0, 16)}`,
      );
      assert.deepEqual(split.drops, whole.drops, `cut at ${cuts.slice(0, 16)}`);
    }
    assert.ok(performance.now() - t0 < 250, "bounded time");
  });
  assert.ok(
    (seen.get("101") ?? 0) > 300 && (seen.get("400") ?? 0) > 500,
    JSON.stringify([...seen]),
  );
});
