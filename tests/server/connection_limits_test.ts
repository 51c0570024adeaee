/**
 * The connection layer under the real server (tiny model): what used to cost memory, a stack
 * trace per request or a connection slot forever is refused, closed and counted in /metrics,
 * and logged at most once a minute per client address.
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { connect, readToEnd, send, sleep } from "../net/raw_http.ts";
import { startTestServer, streamAudio } from "./harness.ts";
import { type ByteConn, RawWebSocket } from "./raw_ws.ts";

/** The real server with its log captured, and its connection-drop counters. */
async function serverWithLog(knobs: Record<string, string> = {}) {
  const srv = await startTestServer({ WARMUP_BATCH: "0", ...knobs });
  return Object.assign(srv, {
    async metric(reason: string): Promise<number> {
      const text = await (await fetch(`${srv.http}/metrics`)).text();
      const m = text.match(
        new RegExp(`^parakeet_connection_drops_total\\{reason="${reason}"\\} (\\d+)$`, "m"),
      );
      return Number(m?.[1] ?? NaN);
    },
  });
}

Deno.test("a WebSocket handshake without Sec-WebSocket-Key gets 400 and logs nothing", async () => {
  await using srv = await serverWithLog();
  const before = srv.lines.length;
  for (let i = 0; i < 20; i++) {
    const c = await connect(srv.port);
    await send(
      c,
      "GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Version: 13\r\nConnection: close\r\n\r\n",
    );
    const end = await readToEnd(c, 5000);
    assert.match(end.text, /^HTTP\/1\.1 400 /);
    assert.match(end.text, /Bad WebSocket handshake: missing or malformed Sec-WebSocket-Key/);
  }
  assert.ok(srv.lines.length - before <= 1, srv.lines.slice(before).join("\n"));
  const metrics = await (await fetch(`http://127.0.0.1:${srv.port}/metrics`)).text();
  assert.match(metrics, /^parakeet_refused_total\{reason="bad_handshake"\} 20$/m);
});

Deno.test("slow and bare connections are closed at HEADER_TIMEOUT_S, counted, logged once per address", async () => {
  await using srv = await serverWithLog({ HEADER_TIMEOUT_S: "1" });
  const conns = await Promise.all(Array.from({ length: 10 }, () => connect(srv.port)));
  await send(conns[0], "GET /status HTTP/1.1\r\nHo");
  const ends = await Promise.all(conns.map((c) => readToEnd(c, 10_000)));
  for (const e of ends) {
    assert.ok(e.closed);
    assert.ok(e.ms < 5000, `closed after ${e.ms} ms`);
  }
  assert.equal(await srv.metric("header_timeout"), 10);
  const logged = srv.lines.filter((l) => l.includes("header_timeout"));
  assert.equal(logged.length, 1, logged.join("\n"));
  assert.match(logged[0], /connection from 127\.0\.0\.1: header_timeout/);
});

Deno.test("past MAX_CONNECTIONS_PER_CLIENT the server answers 503, counted in /metrics", async () => {
  await using srv = await serverWithLog({ MAX_CONNECTIONS_PER_CLIENT: "2" });
  const held = await Promise.all([1, 2].map(() => connect(srv.port)));
  await sleep(200);
  const refused = await readToEnd(await connect(srv.port), 5000);
  assert.match(refused.text, /^HTTP\/1\.1 503 /);
  for (const c of held) c.close();
  await sleep(200);
  assert.equal(await srv.metric("max_connections_per_client"), 1);
});

/** Masked client frames built once, so the client's own memory stays out of the figures. */
function frame(opcode: number, fin: boolean, payloadBytes: number): Uint8Array {
  const head = [(fin ? 0x80 : 0) | opcode, 0x80 | 127];
  const len = new Uint8Array(8);
  new DataView(len.buffer).setBigUint64(0, BigInt(payloadBytes));
  const out = new Uint8Array(2 + 8 + 4 + payloadBytes);
  out.set(head);
  out.set(len, 2);
  out.set([1, 2, 3, 4], 10);
  return out;
}

function rss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return Deno.memoryUsage().rss;
}

/** Runs `attack` while sampling this process's RSS; returns the peak growth in MiB. */
async function peakGrowthMiB(attack: () => Promise<void>): Promise<number> {
  const base = rss();
  let peak = base;
  const sampler = setInterval(() => (peak = Math.max(peak, Deno.memoryUsage().rss)), 20);
  try {
    await attack();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, Deno.memoryUsage().rss);
  return (peak - base) / 1048576;
}

async function writeAll(conn: ByteConn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

Deno.test("a fragmented message summing far past MAX_FRAME_BYTES (40 × 2 MiB) gets 1009 without being kept", async () => {
  await using srv = await serverWithLog();
  const MiB = 1048576;
  const first = frame(0x2, false, 2 * MiB);
  const middle = frame(0x0, false, 2 * MiB);
  const last = frame(0x0, true, 2 * MiB);
  const raw = await RawWebSocket.open(srv.port);
  let outcome: { code: number | null; texts: string[] } = { code: null, texts: [] };
  let sent = 0;
  const growth = await peakGrowthMiB(async () => {
    const reading = raw.readUntilClose();
    const sending = (async () => {
      for (let i = 0; i < 40; i++) {
        const f = i === 0 ? first : i === 39 ? last : middle;
        await writeAll(raw.conn, f);
        sent += f.length;
      }
    })().catch(() => {}); // the server may close before the last fragment
    outcome = await reading;
    await sending;
  });
  raw.close();
  assert.equal(outcome.code, 1009);
  assert.match(outcome.texts[0], /"code":"message_too_large"/);
  assert.match(outcome.texts[0], /size \d+ bytes exceeds the limit of 1048576/);
  assert.ok(sent >= 8 * MiB, `only ${sent} bytes went out before the close`);
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB for an 80 MiB message`);
  // The server goes on serving.
  const after = await streamAudio(`ws://127.0.0.1:${srv.port}/ws`, clipPcmBytes("seven_eight.wav"));
  assert.equal(after.finals.length, 1);
});

Deno.test("one frame declaring 70 MiB gets 1009 before its payload is read; RSS does not grow by it", async () => {
  await using srv = await serverWithLog();
  const MiB = 1048576;
  const raw = await RawWebSocket.open(srv.port);
  const head = frame(0x2, true, 0).subarray(0, 14);
  new DataView(head.buffer).setBigUint64(2, BigInt(70 * MiB));
  const piece = new Uint8Array(MiB);
  let outcome: { code: number | null; texts: string[] } = { code: null, texts: [] };
  let sent = 0;
  const growth = await peakGrowthMiB(async () => {
    const reading = raw.readUntilClose();
    const sending = (async () => {
      await writeAll(raw.conn, head);
      for (let i = 0; i < 70; i++) {
        await writeAll(raw.conn, piece);
        sent += piece.length;
      }
    })().catch(() => {});
    outcome = await reading;
    await sending;
  });
  raw.close();
  assert.equal(outcome.code, 1009);
  assert.match(outcome.texts[0], /size 73400320 bytes exceeds the limit of 1048576/);
  assert.ok(sent >= 8 * MiB, `only ${sent} bytes went out before the close`);
  assert.ok(growth < 32, `RSS grew ${growth.toFixed(1)} MiB for a 70 MiB frame`);
});

Deno.test("a peer ignoring pings is closed about IDLE_TIMEOUT_S after its last frame, not 30 s, and released", async () => {
  await using srv = await serverWithLog({ IDLE_TIMEOUT_S: "2" });
  const raw = await RawWebSocket.open(srv.port);
  const t0 = performance.now();
  let pings = 0;
  let code: number | null = null;
  for (;;) {
    const f = await raw.readFrame(); // pings read, never answered
    if (!f) break;
    if (f.opcode === 0x9) pings++;
    if (f.opcode === 0x8) {
      code = (f.payload[0] << 8) | f.payload[1];
      break;
    }
  }
  const ms = performance.now() - t0;
  raw.close();
  assert.ok(pings >= 1, "pinged while silent");
  // The stream's own inactivity timer (1008 idle_timeout) speaks first; the socket's liveness
  // close (1001) a second later is the backstop.
  assert.ok(code === 1008 || code === 1001, `closed with ${code}`);
  assert.ok(ms >= 1800 && ms < 6000, `closed after ${ms} ms`);
  const t1 = Date.now();
  while (srv.server.stats().openStreams !== 0) {
    assert.ok(Date.now() - t1 < 3000, "the stream is released");
    await sleep(20);
  }
});
