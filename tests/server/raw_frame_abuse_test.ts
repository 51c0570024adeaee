/**
 * Frames no WebSocket library would send, over a bare TCP socket. Deno's WebSocket server drops
 * such connections itself; what the application must guarantee is that the stream is cleaned
 * up within a second and that everyone else is still served.
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "./harness.ts";
import { RawWebSocket } from "./raw_ws.ts";

async function waitFor(check: () => boolean, ms: number, what: string): Promise<number> {
  const t0 = Date.now();
  while (!check()) {
    if (Date.now() - t0 > ms) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
  return Date.now() - t0;
}

type Abuse = (ws: RawWebSocket) => Promise<void>;

const ABUSES: [string, Abuse][] = [
  [
    "a header claiming more than 64 MiB",
    (ws) => ws.sendFrame(0x2, new Uint8Array(16), { length: 64 * 1024 * 1024 + 1 }),
  ],
  ["an unknown data opcode (0x3)", (ws) => ws.sendFrame(0x3, new Uint8Array(4))],
  ["an unknown control opcode (0xB)", (ws) => ws.sendFrame(0xb, new Uint8Array(0))],
  ["a fragmented control frame", (ws) => ws.sendFrame(0x9, new Uint8Array(4), { fin: false })],
  ["a ping over 125 bytes", (ws) => ws.sendFrame(0x9, new Uint8Array(200))],
  ["invalid UTF-8 in a text frame", (ws) => ws.sendFrame(0x1, new Uint8Array([0xc3, 0x28, 0xff]))],
  ["RSV bits set", (ws) => ws.sendFrame(0x2, new Uint8Array(4), { rsv: 0b111 })],
  ["a continuation frame with nothing to continue", (ws) => ws.sendFrame(0x0, new Uint8Array(4))],
];

for (const [name, abuse] of ABUSES) {
  Deno.test(`raw frames: ${name} — the stream is cleaned up within a second, others are served`, async () => {
    await using srv = await startTestServer();
    // A neighbour streaming while the abuse happens must get its final.
    const neighbour = streamAudio(srv.url, clipPcmBytes("digits_pi.wav"), { rtf: 4 });
    const raw = await RawWebSocket.open(srv.server.port);
    await raw.sendBinary(clipPcmBytes("seven_eight.wav").slice(0, 16000)); // mid-utterance
    await waitFor(() => srv.server.stats().openStreams === 2, 2000, "both streams open");
    await abuse(raw).catch(() => {}); // the server may already have dropped us
    const ms = await waitFor(() => srv.server.stats().openStreams === 1, 1000, "the cleanup");
    assert.ok(ms <= 1000);
    raw.close();
    const n = await neighbour;
    assert.deepEqual(n.errors, []);
    assert.equal(n.finals.length, 1);
    // New connections are served too.
    const after = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
    assert.equal(after.finals.length, 1);
    assert.equal(srv.server.stats().openStreams, 0);
  });
}
