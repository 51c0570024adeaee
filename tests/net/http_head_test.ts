import { switchingProtocols } from "../../src/net/http_response.ts";
import assert from "node:assert/strict";
import {
  bodyFraming,
  findHeadEnd,
  parseRequestHead,
  requestUrl,
  wantsKeepAlive,
} from "../../src/net/http_head.ts";

const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("a request head parses into method, target, version and headers", () => {
  const r = parseRequestHead(bytes("GET /ws?x=1 HTTP/1.1\r\nHost: a\r\nX-Y:  z \r\n\r\n"));
  assert.ok(r.ok);
  assert.deepEqual(r.head, {
    method: "GET",
    target: "/ws?x=1",
    minor: 1,
    headers: [["Host", "a"], ["X-Y", "z"]],
  });
  assert.equal(findHeadEnd(bytes("GET / HTTP/1.1\r\n\r\nbody")), 18);
  assert.equal(findHeadEnd(bytes("GET / HTTP/1.1\r\n")), -1);
});

Deno.test("heads that could be read two ways are refused", () => {
  for (
    const bad of [
      "GET / HTTP/2.0\r\n\r\n",
      "GET  / HTTP/1.1\r\n\r\n",
      "GET / HTTP/1.1\r\n folded\r\n\r\n",
      "GET / HTTP/1.1\r\nName : v\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\x00c\r\n\r\n",
      "GET / HTTP/1.1\r\nA: b\nc\r\n\r\n",
    ]
  ) assert.equal(parseRequestHead(bytes(bad)).ok, false, JSON.stringify(bad));
});

Deno.test("body framing: length, chunked, none, and the smuggling shapes refused", () => {
  const h = (o: Record<string, string>) => new Headers(o);
  assert.deepEqual(bodyFraming(h({ "content-length": "12" })), { kind: "length", length: 12 });
  assert.deepEqual(bodyFraming(h({ "content-length": "0" })), { kind: "none" });
  assert.deepEqual(bodyFraming(h({ "transfer-encoding": "chunked" })), { kind: "chunked" });
  assert.deepEqual(bodyFraming(h({})), { kind: "none" });
  for (
    const bad of [
      { "content-length": "5", "transfer-encoding": "chunked" } as Record<string, string>,
      { "content-length": "5, 6" },
      { "content-length": "-1" },
      { "transfer-encoding": "gzip, chunked" },
    ]
  ) assert.equal(bodyFraming(h(bad)).kind, "invalid", JSON.stringify(bad));
  assert.deepEqual(bodyFraming(h({ "content-length": "7, 7" })), { kind: "length", length: 7 });
});

Deno.test("requestUrl: the path is the target's; a Host that is not uri-host[:port] makes no URL", () => {
  const local: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8000 };
  const url = (host: string | null, target = "/ws?x=1") =>
    requestUrl(target, new Headers(host === null ? {} : { host }), local);
  for (const host of ["example.com:8080", "[::1]:8000", "127.0.0.1", "my_host.local:", ""]) {
    assert.equal(url(host)?.pathname, "/ws", host);
  }
  assert.equal(url(null)?.host, "127.0.0.1:8000");
  const v6: Deno.NetAddr = { transport: "tcp", hostname: "::1", port: 8000 };
  assert.equal(requestUrl("/ws", new Headers(), v6)?.host, "[::1]:8000", "no Host on IPv6");
  assert.equal(url("a", "http://b/c")?.href, "http://b/c", "absolute form: Host ignored");
  // Each of these moved the path (or the host) the routes see: "x/metrics?" made /ws /metrics.
  for (const host of ["x/metrics?", "x?", "x#", "x\\y", "user@x", "a, b", "a b", "[::1"]) {
    assert.equal(url(host), null, host);
  }
});

Deno.test("keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only when asked", () => {
  assert.equal(wantsKeepAlive(1, new Headers()), true);
  assert.equal(wantsKeepAlive(1, new Headers({ connection: "Close" })), false);
  assert.equal(wantsKeepAlive(0, new Headers()), false);
  assert.equal(wantsKeepAlive(0, new Headers({ connection: "keep-alive" })), true);
});

Deno.test("switchingProtocols: names the chosen subprotocol; refuses one that is not an HTTP token", () => {
  const head = new TextDecoder().decode(switchingProtocols("a2V5", "realtime"));
  assert.match(head, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
  assert.match(head, /\r\nsec-websocket-protocol: realtime\r\n\r\n$/);
  assert.ok(
    !new TextDecoder().decode(switchingProtocols("a2V5")).includes("sec-websocket-protocol"),
  );
  for (const bad of ["", "real time", "x\r\nset-cookie: a=b", "a,b"]) {
    assert.throws(() => switchingProtocols("a2V5", bad), /must be an HTTP token/, bad);
  }
});
