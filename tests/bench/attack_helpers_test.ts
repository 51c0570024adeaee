/** The attack harness's pieces on their own: source addresses, raw HTTP reads, knobs, verdicts. */
import assert from "node:assert/strict";
import { closedNear, judge } from "../../bench/attack/attack.ts";
import { fetchFrom } from "../../bench/attack/fetch_from.ts";
import { applySettings, defaultKnobs, knob } from "../../bench/attack/knobs.ts";
import { LoopbackSocket } from "../../bench/attack/loopback_socket.ts";
import { wavBytes } from "../../bench/attack/media_files.ts";
import { rawRequest, readResponse } from "../../bench/attack/raw_http.ts";

/** A server on 127.0.0.1 that answers with the address the request came from. */
function echoAddressServer() {
  return Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (_req, info) => new Response((info.remoteAddr as Deno.NetAddr).hostname),
  );
}

Deno.test("LoopbackSocket: connects from its own 127.x address to a server on 127.0.0.1", async () => {
  await using server = echoAddressServer();
  const { sock, outcome } = await rawRequest(
    "127.0.5.7",
    server.addr.port,
    "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
    2000,
  );
  assert.ok(typeof outcome !== "string");
  assert.equal(outcome.status, 200);
  assert.equal(outcome.body, "127.0.5.7");
  assert.ok(await sock.waitForEnd(2000), "Connection: close ends the connection");
  assert.ok(sock.peerClosedAt !== null, "ended by the server, not by us");
  sock.close();
});

Deno.test("fetchFrom: the request comes from the given address", async () => {
  await using server = echoAddressServer();
  const r = await fetchFrom("127.0.6.9", `http://127.0.0.1:${server.addr.port}/`);
  assert.equal(r.status, 200);
  assert.equal(r.body, "127.0.6.9");
});

Deno.test("readResponse: a chunked body, a silent peer (timeout) and a close before any answer", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  const serving = (async () => {
    const answers = [
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
      null, // say nothing
      "", // close at once
    ];
    for (const answer of answers) {
      const conn = await listener.accept();
      await conn.read(new Uint8Array(1024));
      if (answer === null) {
        await new Promise((r) => setTimeout(r, 400));
      } else if (answer) await conn.write(new TextEncoder().encode(answer));
      conn.close();
    }
  })();
  const chunked = await rawRequest("127.0.0.2", port, "GET / HTTP/1.1\r\n\r\n", 2000);
  assert.ok(typeof chunked.outcome !== "string");
  assert.equal(chunked.outcome.body, "abcde");
  chunked.sock.close();
  const silent = await rawRequest("127.0.0.2", port, "GET / HTTP/1.1\r\n\r\n", 100);
  assert.equal(silent.outcome, "timeout");
  silent.sock.close();
  const closed = await rawRequest("127.0.0.2", port, "GET / HTTP/1.1\r\n\r\n", 2000);
  assert.equal(closed.outcome, "closed");
  closed.sock.close();
  await serving;
  listener.close();
});

Deno.test("LoopbackSocket.next: bytes in order, then null once the peer has ended", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.write(new TextEncoder().encode("hello"));
    conn.close();
  })();
  const sock = await LoopbackSocket.connect("127.0.0.3", listener.addr.port);
  assert.equal(new TextDecoder().decode((await sock.next(2000)) as Uint8Array), "hello");
  assert.equal(await sock.next(2000), null);
  assert.equal(await readResponse(sock, 100), "closed");
  sock.close();
  await serving;
  listener.close();
});

Deno.test("applySettings: attack sizes by name, anything else a server knob; bad values refused", () => {
  const k = applySettings(defaultKnobs(true), ["slowlorisConnections=3", "HEADER_TIMEOUT_S=7"]);
  assert.equal(k.slowlorisConnections, 3);
  assert.equal(knob(k, "HEADER_TIMEOUT_S"), 7);
  assert.equal(defaultKnobs(true).server.HEADER_TIMEOUT_S, "2", "the defaults are not changed");
  assert.throws(() => applySettings(k, ["fragments=many"]), /must be a number/);
  assert.throws(() => applySettings(k, ["NOEQUALS"]), /NAME=VALUE/);
});

Deno.test("closedNear and judge: on time from 0.75 T to T + slack; each failed check named", () => {
  assert.ok(closedNear(2, 2, 2));
  assert.ok(closedNear(1.5, 2, 2));
  assert.ok(!closedNear(1.4, 2, 2));
  assert.ok(!closedNear(4.1, 2, 2));
  assert.ok(!closedNear(null, 2, 2));
  const o = judge({ a: 1 }, [[true, "fine"], [false, "first"], [false, "second"]]);
  assert.equal(o.pass, false);
  assert.equal(o.failure, "first; second");
  assert.ok(judge({}, [[true, "x"]]).pass);
});

Deno.test("wavBytes: the header says what the attack wants, true or not", () => {
  const wav = wavBytes({ rate: 4_000_037, bits: 16, channels: 1, data: new Uint8Array(200) });
  const v = new DataView(wav.buffer);
  assert.equal(wav.length, 244);
  assert.equal(new TextDecoder().decode(wav.subarray(0, 4)), "RIFF");
  assert.equal(v.getUint32(24, true), 4_000_037);
  assert.equal(v.getUint16(34, true), 16);
  assert.equal(v.getUint32(40, true), 200);
});
