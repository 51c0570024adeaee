/**
 * The HTTP layer on its own (no model): the attacks that ended or filled the process under
 * `Deno.serve`, each closed or refused and counted; and the HTTP/1.1 a client relies on.
 */
import assert from "node:assert/strict";
import { upgradeWebSocket } from "../../src/net/ws_upgrade.ts";
import { RawWebSocket } from "../server/raw_ws.ts";
import { connect, GET, readResponse, readToEnd, send, sleep, startHttp } from "./raw_http.ts";

const hello = () => new Response("hello");

Deno.test("a slowloris head (one byte a second) is closed at the header timeout, counted", async () => {
  await using srv = startHttp(hello, {
    headerTimeoutMs: 2000,
    maxConnections: 1000,
    maxConnectionsPerClient: 1000,
  });
  // The reproduction on Deno.serve: 300 of these were all still open after 70 s.
  const conns = await Promise.all(Array.from({ length: 300 }, () => connect(srv.port)));
  const request = GET("/slow", "X-Padding: " + "a".repeat(100) + "\r\n");
  const trickle = conns.map(async (c) => {
    for (const ch of request) {
      try {
        await send(c, ch);
      } catch {
        return; // closed by the server
      }
      await sleep(1000);
    }
  });
  const ends = await Promise.all(conns.map((c) => readToEnd(c, 10_000)));
  for (const end of ends) {
    assert.ok(end.closed, "closed by the server");
    assert.equal(end.text, "", "no answer to a head that never completed");
    assert.ok(end.ms >= 1500 && end.ms < 6000, `closed after ${end.ms} ms`);
  }
  await Promise.all(trickle);
  assert.equal(srv.count("header_timeout"), 300);
  assert.equal(srv.server.openConnections, 0);
});

Deno.test("a bare connection that sends nothing is closed at the header timeout", async () => {
  await using srv = startHttp(hello, { headerTimeoutMs: 1000 });
  const end = await readToEnd(await connect(srv.port), 10_000);
  assert.ok(end.closed);
  assert.ok(end.ms >= 800 && end.ms < 5000, `closed after ${end.ms} ms`);
  assert.equal(srv.count("header_timeout"), 1);
});

Deno.test("an idle kept-alive connection is closed at the keep-alive timeout; a busy one is reused", async () => {
  await using srv = startHttp(hello, { keepAliveTimeoutMs: 1000, headerTimeoutMs: 10_000 });
  const conn = await connect(srv.port);
  for (let i = 0; i < 3; i++) {
    await send(conn, GET("/"));
    const r = await readResponse(conn);
    assert.equal(r.status, 200);
    assert.equal(r.body, "hello");
    assert.doesNotMatch(r.head, /connection: close/i);
    await sleep(300);
  }
  const end = await readToEnd(conn, 10_000);
  assert.ok(end.closed);
  assert.ok(end.ms >= 400 && end.ms < 5000, `closed after ${end.ms} ms`);
  assert.equal(srv.count("keepalive_timeout"), 1);
});

Deno.test("Connection: close is honoured: one answer, then the server closes", async () => {
  await using srv = startHttp(hello);
  const conn = await connect(srv.port);
  await send(conn, GET("/", "Connection: close\r\n"));
  const end = await readToEnd(conn, 5000);
  assert.ok(end.closed);
  assert.match(end.text, /^HTTP\/1\.1 200 OK\r\n/);
  assert.match(end.text, /connection: close/i);
  assert.match(end.text, /\r\n\r\nhello$/);
});

Deno.test("past MAX_CONNECTIONS a connection gets 503 before a byte is read, counted; a freed slot serves again", async () => {
  await using srv = startHttp(hello, { maxConnections: 3, maxConnectionsPerClient: 3 });
  const held = await Promise.all([1, 2, 3].map(() => connect(srv.port)));
  await sleep(200);
  const refused = await readToEnd(await connect(srv.port), 5000);
  assert.match(refused.text, /^HTTP\/1\.1 503 /);
  assert.match(refused.text, /retry-after: 1/i);
  assert.equal(srv.count("max_connections"), 1);
  held[0].close();
  await sleep(200);
  const conn = await connect(srv.port);
  await send(conn, GET("/", "Connection: close\r\n"));
  assert.match((await readToEnd(conn, 5000)).text, /^HTTP\/1\.1 200 /);
  for (const c of held.slice(1)) c.close();
});

Deno.test("past MAX_CONNECTIONS_PER_CLIENT an address gets 503, counted apart from the total cap", async () => {
  await using srv = startHttp(hello, { maxConnections: 50, maxConnectionsPerClient: 2 });
  const held = await Promise.all([1, 2].map(() => connect(srv.port)));
  await sleep(200);
  const refused = await readToEnd(await connect(srv.port), 5000);
  assert.match(refused.text, /^HTTP\/1\.1 503 /);
  assert.match(refused.text, /Too many connections from your address/);
  assert.equal(srv.count("max_connections_per_client"), 1);
  assert.equal(srv.count("max_connections"), 0);
  for (const c of held) c.close();
});

Deno.test("a body slower than the minimum pace is cut off; one at a fair pace gets through whole", async () => {
  const echoLength = async (req: Request) => {
    try {
      return new Response(String((await req.arrayBuffer()).byteLength));
    } catch {
      return new Response("cut", { status: 400 });
    }
  };
  await using srv = startHttp(echoLength, { bodyTimeoutMs: 2000, bodyMinBytesPerS: 10_000 });
  // 10 bytes a 300 ms: never a pause of two seconds, but far below 10 kB/s.
  const slow = await connect(srv.port);
  await send(slow, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000\r\n\r\n");
  const trickle = (async () => {
    for (let i = 0; i < 60; i++) {
      try {
        await send(slow, "0123456789");
      } catch {
        return;
      }
      await sleep(300);
    }
  })();
  const cut = await readToEnd(slow, 15_000);
  assert.ok(cut.closed);
  assert.ok(cut.ms >= 1500 && cut.ms < 10_000, `cut after ${cut.ms} ms`);
  await trickle;
  assert.equal(srv.count("body_timeout"), 1);

  // 600 kB in 3 s (200 kB/s) in chunks: slower than one read, well above the minimum.
  const fair = await connect(srv.port);
  await send(fair, "POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 600000\r\n\r\n");
  for (let i = 0; i < 30; i++) {
    await send(fair, new Uint8Array(20_000));
    await sleep(100);
  }
  const r = await readResponse(fair);
  assert.equal(r.status, 200);
  assert.equal(r.body, "600000");
  fair.close();
});

Deno.test("chunked request bodies are read, streamed responses are sent chunked, HEAD gets no body", async () => {
  await using srv = startHttp(async (req) => {
    if (req.method === "POST") return new Response(await req.text());
    const parts = ["one ", "two ", "three"];
    return new Response(
      new ReadableStream({
        pull(c) {
          const p = parts.shift();
          if (p === undefined) c.close();
          else c.enqueue(new TextEncoder().encode(p));
        },
      }),
    );
  });
  const res = await fetch(`http://127.0.0.1:${srv.port}/`, {
    method: "POST",
    body: new ReadableStream({
      start(c) {
        c.enqueue(new TextEncoder().encode("chunked "));
        c.enqueue(new TextEncoder().encode("body"));
        c.close();
      },
    }),
  });
  assert.equal(await res.text(), "chunked body");
  const streamed = await fetch(`http://127.0.0.1:${srv.port}/`);
  assert.equal(streamed.headers.get("transfer-encoding"), "chunked");
  assert.equal(await streamed.text(), "one two three");
  const head = await fetch(`http://127.0.0.1:${srv.port}/`, { method: "HEAD" });
  assert.equal(head.status, 200);
  assert.equal(await head.text(), "");
});

Deno.test("a chunk-size line over 4096 bytes is refused even when it arrives in one piece", async () => {
  await using srv = startHttp(async (req) => {
    try {
      return new Response(await req.text());
    } catch (err) {
      return new Response((err as Error).name, { status: 400 });
    }
  });
  const post = (ext: number) =>
    "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
    `1;${"e".repeat(ext)}\r\nx\r\n0\r\n\r\n`;
  // "1;" and the extension: 4096 bytes is the longest line taken, 4097 one too many.
  for (
    const [ext, answer] of [[4094, /^HTTP\/1\.1 200 [^]*\r\n\r\nx$/], [
      4095,
      /^HTTP\/1\.1 400 [^]*BodyFormatError$/,
    ]] as const
  ) {
    const c = await connect(srv.port);
    await send(c, post(ext));
    assert.match((await readToEnd(c, 5000)).text, answer, `a line of ${ext + 2} bytes`);
  }
});

Deno.test("a chunk-size line is hex digits and extensions, nothing else: lenient forms get 400", async () => {
  await using srv = startHttp(async (req) => {
    try {
      return new Response(await req.text());
    } catch (err) {
      return new Response((err as Error).name, { status: 400 });
    }
  });
  // Byte for byte (latin1): "\xa0" is the single byte 0xa0, not its UTF-8 form.
  const post = (sizeLine: string) =>
    Uint8Array.from(
      "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n" +
        `${sizeLine}\r\nhello\r\n0\r\n\r\n`,
      (c) => c.charCodeAt(0),
    );
  const accepted = ["5", "5;ext=1", "5 ; a = b", '5;q="x \\" y";n', "5\t;a", "00005"];
  const refused = [" 5", "5\xa0", "\x0b5 \t", "5 ", "+5", "0x5", "-1", "5;", "5;a=", "5;a ", "5,a"];
  refused.push("1" + "0".repeat(12)); // past the 12 hex digits a size may have
  for (const sizeLine of [...accepted, ...refused]) {
    const c = await connect(srv.port);
    await send(c, post(sizeLine));
    const answer = accepted.includes(sizeLine)
      ? /^HTTP\/1\.1 200 [^]*\r\n\r\nhello$/
      : /^HTTP\/1\.1 400 [^]*BodyFormatError$/;
    assert.match((await readToEnd(c, 5000)).text, answer, JSON.stringify(sizeLine));
  }
});

Deno.test("malformed heads get 400, heads over the size cap 431, both counted and closed", async () => {
  await using srv = startHttp(hello, { maxHeadBytes: 1024 });
  for (
    const bad of [
      "GET / HTTP/1.1\r\nHost: x\r\n bad: fold\r\n\r\n",
      "GET /\r\n\r\n",
      "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
      "GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
    ]
  ) {
    const c = await connect(srv.port);
    await send(c, bad);
    const end = await readToEnd(c, 5000);
    assert.match(end.text, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
  }
  const c = await connect(srv.port);
  await send(c, "GET / HTTP/1.1\r\nX: " + "a".repeat(4000));
  assert.match((await readToEnd(c, 5000)).text, /^HTTP\/1\.1 431 /);
  assert.equal(srv.count("bad_request"), 4);
  assert.equal(srv.count("head_too_large"), 1);
});

Deno.test("a complete head over the size cap that arrives in one piece gets 431 too", async () => {
  await using srv = startHttp(hello, { maxHeadBytes: 1024 });
  const c = await connect(srv.port);
  await send(c, GET("/", `X: ${"a".repeat(1500)}\r\n`));
  assert.match((await readToEnd(c, 5000)).text, /^HTTP\/1\.1 431 /);
  assert.equal(srv.count("head_too_large"), 1);
});

Deno.test("a request Fetch cannot represent (TRACE, CONNECT, a body on gEt) gets 400, not a silent close", async () => {
  await using srv = startHttp(hello);
  for (
    const bad of [
      "TRACE / HTTP/1.1\r\nHost: a\r\n\r\n",
      "CONNECT /x HTTP/1.1\r\nHost: a\r\n\r\n",
      "gEt / HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody",
    ]
  ) {
    const c = await connect(srv.port);
    await send(c, bad);
    const end = await readToEnd(c, 5000);
    assert.match(end.text, /^HTTP\/1\.1 400 /, JSON.stringify(bad));
    assert.ok(end.closed);
  }
  assert.equal(srv.count("bad_request"), 3);
});

Deno.test("a Host that would change the path the routes see gets 400", async () => {
  await using srv = startHttp((req) => new Response(new URL(req.url).pathname));
  for (const host of ["a/metrics?", "a, b", "a#", "a\\b"]) {
    const c = await connect(srv.port);
    await send(c, `GET /ws HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
    assert.match((await readToEnd(c, 5000)).text, /^HTTP\/1\.1 400 /, host);
  }
  const c = await connect(srv.port);
  await send(c, "GET /ws HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n");
  assert.match((await readToEnd(c, 5000)).text, /^HTTP\/1\.1 400 /, "two Host lines");
  assert.equal(srv.count("bad_request"), 5);
});

Deno.test("req.signal aborts when the client goes away while the handler works on its body", async () => {
  const aborted = Promise.withResolvers<number>();
  await using srv = startHttp(async (req) => {
    // As the upload route does: read the body, then work on it.
    assert.equal(await req.text(), "abc");
    const t0 = Date.now();
    await new Promise<void>((r) => req.signal.addEventListener("abort", () => r()));
    aborted.resolve(Date.now() - t0);
    return new Response("too late");
  });
  const c = await connect(srv.port);
  await send(c, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\nabc");
  await sleep(300);
  c.close();
  const ms = await aborted.promise;
  assert.ok(ms < 5000);
});

Deno.test("shutdown answers requests still waiting for their body or response with 503, ends WebSockets 1001, closes everything", async () => {
  const srv = startHttp(async (req) => {
    const url = new URL(req.url);
    if (url.pathname === "/ws") {
      const up = upgradeWebSocket(req, {
        maxBinaryBytes: 100,
        maxTextBytes: 100,
        idleTimeoutMs: 60_000,
      });
      return up.ok ? up.response : new Response(null, { status: 400 });
    }
    if (req.method === "POST") await req.arrayBuffer();
    return await new Promise<Response>(() => {});
  });
  const waiting = await connect(srv.port);
  await send(waiting, GET("/"));
  const halfBody = await connect(srv.port);
  await send(halfBody, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n0123456789");
  const idle = await connect(srv.port);
  const ws = await RawWebSocket.open(srv.port, "/ws");
  await sleep(200);
  const answers = Promise.all([
    readToEnd(waiting, 5000),
    readToEnd(halfBody, 5000),
    readToEnd(idle, 5000),
    ws.readUntilClose(),
  ]);
  await srv.server.close();
  const [w, h, i, closed] = await answers;
  ws.close();
  assert.match(w.text, /^HTTP\/1\.1 503 /);
  assert.match(h.text, /^HTTP\/1\.1 503 /);
  assert.ok(i.closed);
  assert.equal(closed.code, 1001);
  assert.equal(srv.server.openConnections, 0);
  await srv.server.finished;
  await assert.rejects(() => connect(srv.port));
});

Deno.test("Expect: 100-continue gets its interim answer when the handler reads the body", async () => {
  await using srv = startHttp(async (req) => new Response(await req.text()));
  const c = await connect(srv.port);
  await send(
    c,
    "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
  );
  const buf = new Uint8Array(100);
  const n = await c.read(buf);
  assert.match(new TextDecoder().decode(buf.subarray(0, n!)), /^HTTP\/1\.1 100 Continue\r\n\r\n/);
  await send(c, "hello");
  const rest = await readToEnd(c, 5000);
  assert.match(rest.text, /^HTTP\/1\.1 200 [^]*\r\n\r\nhello$/);
});
