/**
 * The server as its own process under a low open-file limit (`ulimit -n 128`), flooded with
 * far more connections than it has descriptors for. Under `Deno.serve` it exited 1 ("Too many
 * open files"); now it clamps its connection cap below the limit, refuses or times out the
 * excess, waits out accept errors, and serves /status and a stream after the flood.
 */
import assert from "node:assert/strict";
import { SERVE_V8_FLAGS } from "../../src/bench/server_process.ts";
import { clipPcmBytes, ROOT, TINY_MODEL } from "../engine/fixtures.ts";
import { readToEnd, sleep } from "../net/raw_http.ts";
import { streamAudio } from "./harness.ts";

const FLOOD = 300;

/**
 * [open-file limit, the connection cap the server derives from it]. At 128 the cap is reached
 * first and the excess gets 503; at 64 the runtime's own ~35 descriptors leave less than the
 * cap, so accepts fail with "Too many open files" and are waited out.
 */
const CASES: [number, number][] = [[128, 64], [64, 32]];

for (const [FD_LIMIT, CAP] of CASES) {
  Deno.test({
    name:
      `under ulimit -n ${FD_LIMIT}, a flood of ${FLOOD} connections does not end the server; it serves after`,
    async fn() {
      const command = `ulimit -n ${FD_LIMIT} && exec "$0" run --allow-all ${SERVE_V8_FLAGS} ` +
        `${ROOT}main.ts serve --host 127.0.0.1 --port 0`;
      const child = new Deno.Command("bash", {
        args: ["-c", command, Deno.execPath()],
        env: { MODEL: TINY_MODEL, DEVICE: "cpu", WARMUP_BATCH: "0", HEADER_TIMEOUT_S: "1" },
        stdout: "null",
        stderr: "piped",
      }).spawn();
      let exited: Deno.CommandStatus | null = null;
      const status = child.status.then((s) => (exited = s));
      const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
      let log = "";
      let port = 0;
      while (!port) {
        const { value, done } = await reader.read();
        if (done) throw new Error(`server exited early: ${log}`);
        log += value;
        port = Number(log.match(/listening on ws:\/\/[^:]+:(\d+)/)?.[1] ?? 0);
      }
      const drain = (async () => {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          log += value;
        }
      })();
      try {
        assert.match(log, new RegExp(`connections: at most ${CAP}, not MAX_CONNECTIONS=1024`));

        // The flood: connections that send nothing, all opened at once and held.
        const attempts = await Promise.all(
          Array.from({ length: FLOOD }, () =>
            Promise.race([
              Deno.connect({ hostname: "127.0.0.1", port }).catch(() => null),
              sleep(5000).then(() => null),
            ])),
        );
        const flood = attempts.filter((c): c is Deno.TcpConn => c !== null);
        await sleep(500);
        assert.equal(exited, null, `the server exited during the flood: ${log}`);

        // Every flooding connection ends: refused with 503, or closed at HEADER_TIMEOUT_S (those
        // waiting in the listen queue while descriptors ran out, once accepted).
        const ends = await Promise.all(flood.map((c) => readToEnd(c, 40_000)));
        const refused = ends.filter((e) => e.text.startsWith("HTTP/1.1 503")).length;
        const unanswered = ends.filter((e) => !e.closed).length;
        assert.equal(exited, null, `the server exited during the flood: ${log}`);
        assert.equal(unanswered, 0, "every flooding connection was closed by the server");

        const res = await fetch(`http://127.0.0.1:${port}/status`);
        assert.equal(res.status, 200);
        assert.equal(await res.text(), "ok");
        const after = await streamAudio(
          `ws://127.0.0.1:${port}/ws`,
          clipPcmBytes("seven_eight.wav"),
        );
        assert.equal(after.finals.length, 1);
        assert.ok(after.finals[0].length > 0);
        const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
        const count = (reason: string) =>
          Number(
            metrics.match(
              new RegExp(`^parakeet_connection_drops_total\\{reason="${reason}"\\} (\\d+)$`, "m"),
            )?.[1],
          );
        assert.equal(count("max_connections"), refused, "refusals counted in /metrics");
        assert.ok(refused + count("accept_error") > 0, "the flood met the cap or the fd limit");
        console.log(
          `${refused} refused with 503, ${count("accept_error")} accept errors waited out`,
        );
      } finally {
        if (exited === null) child.kill("SIGTERM");
        await status;
        await drain;
      }
      assert.equal((exited as Deno.CommandStatus | null)?.code, 0, log);
    },
  });
}
