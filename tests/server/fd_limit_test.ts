/**
 * The server as its own process under a low open-file limit (`ulimit -n`), flooded with far
 * more connections than it has descriptors for. Under `Deno.serve` it exited 1 ("Too many open
 * files"); now it clamps its connection cap below the limit, refuses or times out the excess,
 * waits out accept errors, and serves /status and a stream after the flood.
 */
import assert from "node:assert/strict";
import { clipPcmBytes } from "../engine/fixtures.ts";
import { readToEnd, send, sleep } from "../net/raw_http.ts";
import { streamAudio } from "./harness.ts";
import { spawnServe } from "./serve_process.ts";

const FLOOD = 300;

interface LimitedServer extends AsyncDisposable {
  port: number;
  log(): string;
  /** The exit status, once the process has exited (null while it runs). */
  exited(): Deno.CommandStatus | null;
}

/** `serve` under `ulimit -n fdLimit`; disposal sends SIGTERM and expects exit 0. */
async function serveUnderLimit(fdLimit: number): Promise<LimitedServer> {
  const srv = await spawnServe({ WARMUP_BATCH: "0", HEADER_TIMEOUT_S: "1" }, undefined, {
    fdLimit,
  });
  let exited: Deno.CommandStatus | null = null;
  srv.child.status.then((s) => (exited = s));
  return {
    port: srv.port,
    log: srv.log,
    exited: () => exited,
    async [Symbol.asyncDispose]() {
      if (exited === null) srv.child.kill("SIGTERM");
      const { status } = await srv.exited(performance.now());
      assert.equal(status.code, 0, srv.log());
    },
  };
}

/** After a flood: /status answers, a stream gets its final, and the refusals were counted. */
async function assertServes(port: number): Promise<string> {
  const res = await fetch(`http://127.0.0.1:${port}/status`);
  assert.equal(res.status, 200);
  assert.equal(await res.text(), "ok");
  const after = await streamAudio(`ws://127.0.0.1:${port}/ws`, clipPcmBytes("seven_eight.wav"));
  assert.equal(after.finals.length, 1);
  assert.ok(after.finals[0].length > 0);
  return await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
}

function dropCount(metrics: string, reason: string): number {
  const m = metrics.match(
    new RegExp(`^parakeet_connection_drops_total\\{reason="${reason}"\\} (\\d+)$`, "m"),
  );
  return Number(m?.[1]);
}

/**
 * [open-file limit, the connection cap the server derives from it]. At 128 the cap is reached
 * first and the excess gets 503; at 64 the runtime's own ~35 descriptors leave less than the
 * cap, so accepts fail with "Too many open files" and are waited out.
 */
const CASES: [number, number][] = [[128, 64], [64, 32]];

for (const [fdLimit, cap] of CASES) {
  Deno.test(`under ulimit -n ${fdLimit}, a flood of ${FLOOD} connections does not end the server; it serves after`, async () => {
    await using srv = await serveUnderLimit(fdLimit);
    assert.match(srv.log(), new RegExp(`connections: at most ${cap}, not MAX_CONNECTIONS=1024`));
    // The flood: connections that send nothing, all opened at once and held.
    const attempts = await Promise.all(
      Array.from(
        { length: FLOOD },
        () => Deno.connect({ hostname: "127.0.0.1", port: srv.port }).catch(() => null),
      ),
    );
    const flood = attempts.filter((c): c is Deno.TcpConn => c !== null);
    await sleep(500);
    assert.equal(srv.exited(), null, `the server exited during the flood: ${srv.log()}`);
    // Every flooding connection ends: refused with 503, or closed at HEADER_TIMEOUT_S (those
    // waiting in the listen queue while descriptors ran out, once accepted).
    const ends = await Promise.all(flood.map((c) => readToEnd(c, 40_000)));
    const refused = ends.filter((e) => e.text.startsWith("HTTP/1.1 503")).length;
    assert.equal(srv.exited(), null, `the server exited during the flood: ${srv.log()}`);
    assert.equal(ends.filter((e) => !e.closed).length, 0, "every flooding connection closed");
    const metrics = await assertServes(srv.port);
    // Every 503 a client read was counted; the server counts more when, refusing many at once,
    // it closes the excess without writing the 503 (a client then reads only the close).
    const counted = dropCount(metrics, "max_connections");
    assert.ok(counted >= refused, `refusals counted: ${counted} counted, ${refused} read`);
    const acceptErrors = dropCount(metrics, "accept_error");
    assert.ok(counted + acceptErrors > 0, "the flood met the cap or the fd limit");
    console.log(`${refused} refused with 503, ${acceptErrors} accept errors waited out`);
  });
}

Deno.test("under ulimit -n 64, WebSockets past the descriptors left are refused or wait; none ends the server", async () => {
  await using srv = await serveUnderLimit(64);
  const handshake = (key: string) =>
    `GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${key}\r\n\r\n`;
  const sockets = await Promise.all(
    Array.from({ length: 60 }, () => Deno.connect({ hostname: "127.0.0.1", port: srv.port })),
  );
  const answers = await Promise.all(sockets.map(async (c, i) => {
    await send(c, handshake(btoa(String(i).padStart(16, "0"))));
    const buf = new Uint8Array(512);
    const read = c.read(buf).then((n) => new TextDecoder().decode(buf.subarray(0, n ?? 0)))
      .catch(() => "");
    return await Promise.race([read, sleep(5000).then(() => "waiting")]);
  }));
  const opened = answers.filter((a) => a.startsWith("HTTP/1.1 101")).length;
  console.log(
    `${opened} WebSockets open, ${answers.filter((a) => a.startsWith("HTTP/1.1 503")).length} ` +
      `refused, ${answers.filter((a) => a === "waiting").length} waiting for a descriptor`,
  );
  assert.ok(opened >= 1 && opened <= 32, `${opened} opened (the cap is 32)`);
  assert.equal(srv.exited(), null, `the server exited: ${srv.log()}`);
  for (const c of sockets) c.close();
  await sleep(1500);
  await assertServes(srv.port);
});
