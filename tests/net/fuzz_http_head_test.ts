/**
 * Fuzz of the request-head parser (`src/net/http_head.ts`) and of the connection that feeds it:
 * every input gives a head or a reason, never an exception; an accepted head is well formed;
 * the Host header never moves the path; the head's end is found the same however the bytes
 * arrive; and over a connection every complete head is answered (the handler's answer, 400 or
 * 431), the same way whatever the segmentation, and no head over the cap reaches the handler.
 */
import assert from "node:assert/strict";
import {
  bodyFraming,
  findHeadEnd,
  leadingBlankLines,
  parseRequestHead,
  requestUrl,
  wantsKeepAlive,
} from "../../src/net/http_head.ts";
import { fuzz } from "../fuzz/mutator.ts";
import { everyByte, randomCuts } from "../fuzz/memory_conn.ts";
import { serveBytes } from "../fuzz/memory_http.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const latin1 = (b: Uint8Array) => new TextDecoder("latin1").decode(b);
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;
const LOCAL: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8000 };

const KEY = "dGhlIHNhbXBsZSBub25jZQ==";
const HEADS = [
  "GET / HTTP/1.1\r\nHost: 127.0.0.1:8000\r\n\r\n",
  "GET /v1/status?token=abc HTTP/1.1\r\nHost: example.com\r\nAccept: */*\r\nUser-Agent: x/1\r\n\r\n",
  "HEAD /health HTTP/1.0\r\nConnection: keep-alive\r\n\r\n",
  "POST /v1/audio/transcriptions HTTP/1.1\r\nHost: a\r\nContent-Type: multipart/form-data; " +
  "boundary=xyz\r\nContent-Length: 5\r\nAuthorization: Bearer t0k3n\r\n\r\nhello",
  "POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n" +
  "5\r\nhello\r\n0\r\n\r\n",
  `GET /ws?encoding=ogg HTTP/1.1\r\nHost: h:1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
  `Sec-WebSocket-Key: ${KEY}\r\nSec-WebSocket-Version: 13\r\nOrigin: http://h:1\r\n` +
  "Sec-WebSocket-Protocol: realtime, openai-insecure-api-key.abc\r\n\r\n",
  "GET http://example.com:8080/abs?q=1 HTTP/1.1\r\nHost: ignored\r\n\r\n",
  "OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Tab:\tv\t\r\nX-Obs: caf\xe9\r\n" +
  "Content-Length: 0, 0\r\nCookie: a=b; c=d\r\n\r\n",
  "\r\n\r\nGET /after-blank-lines HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /a HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
  "DELETE /x HTTP/1.1\r\nHost: [::1]:8000\r\nX-Padding: " + "p".repeat(400) + "\r\n\r\n",
  "PUT /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\nabcGET / HTTP/1.1\r\nHost: a\r\n\r\n",
  "GET /with-body HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\n\r\nbody",
  "TRACE / HTTP/1.1\r\nHost: a\r\nMax-Forwards: 0\r\n\r\n",
  "PATCH /p HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
];
// latin1, so that a byte above 0x7f in a head above is one byte on the wire
const CORPUS = HEADS.map((h) => Uint8Array.from(h, (c) => c.charCodeAt(0)));

Deno.test("fuzz: parseRequestHead gives a well-formed head or a reason for any bytes", async () => {
  await fuzz(
    { seed: 0x48454144, corpus: CORPUS, cases: 60_000, randomCases: 5000, maxRandomLength: 512 },
    (input, rng) => {
      const t0 = performance.now();
      const skip = leadingBlankLines(input);
      assert.ok(skip % 2 === 0 && skip <= input.length);
      for (let i = 0; i < skip; i += 2) assert.ok(input[i] === 13 && input[i + 1] === 10);
      const rest = input.subarray(skip);
      const end = findHeadEnd(rest);
      if (end >= 0) {
        assert.equal(latin1(rest.subarray(end - 4, end)), "\r\n\r\n");
        assert.ok(!latin1(rest.subarray(0, end - 1)).includes("\r\n\r\n"), "the first end");
      } else assert.ok(!latin1(rest).includes("\r\n\r\n"));

      // Fed as the connection reads: each search starts where the last one stopped.
      let found = -1;
      let searched = 0;
      for (const cut of [...randomCuts(rng, rest.length), rest.length].sort((a, b) => a - b)) {
        found = findHeadEnd(rest.subarray(0, cut), searched);
        if (found >= 0) break;
        searched = cut;
      }
      assert.equal(found, end, "the same end however the head arrives");

      const head = end >= 0 ? rest.subarray(0, end) : rest;
      const parsed = parseRequestHead(head);
      if (!parsed.ok) {
        assert.ok(parsed.error.length > 0);
        return;
      }
      const { method, target, minor, headers: fields } = parsed.head;
      assert.match(method, TOKEN);
      assert.match(target, /^[\x21-\x7e]+$/);
      assert.ok(minor === 0 || minor === 1);
      assert.ok(fields.length <= latin1(head).split("\r\n").length);
      let fieldBytes = 0;
      for (const [name, value] of fields) {
        assert.match(name, TOKEN);
        assert.match(
          value,
          /^(?:[\x21-\x7e\x80-\xff](?:[\t\x20-\x7e\x80-\xff]*[\x21-\x7e\x80-\xff])?)?$/,
        );
        fieldBytes += name.length + value.length;
      }
      assert.ok(method.length + target.length + fieldBytes <= head.length);

      // What the connection does with it next: none of it throws.
      const h = new Headers();
      for (const [name, value] of fields) h.append(name, value);
      const url = requestUrl(target, h, LOCAL);
      if (url && target.startsWith("/")) {
        // The path the routes see is the target's: a Host header never adds to it.
        const alone = new URL(`http://placeholder${target}`);
        assert.equal(url.pathname + url.search, alone.pathname + alone.search, h.get("host") ?? "");
      }
      const framing = bodyFraming(h);
      if (framing.kind === "length") {
        assert.ok(Number.isSafeInteger(framing.length) && framing.length > 0);
      } else if (framing.kind === "invalid") assert.ok(framing.error.length > 0);
      assert.equal(typeof wantsKeepAlive(minor, h), "boolean");
      assert.ok(performance.now() - t0 < 2000, "bounded time");
    },
  );
});

/** The statuses the layer and this handler answer with. */
const ANSWERS = new Set([100, 200, 400, 431]);
const MAX_HEAD = 512;
const HOLD = { holdOpen: true };

Deno.test("fuzz: over a connection, every complete head is answered, the same however its bytes arrive", async () => {
  const corpus = [
    ...CORPUS,
    // Heads on either side of the cap.
    bytes(`GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"a".repeat(MAX_HEAD - 40)}\r\n\r\n`),
    bytes(`GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"a".repeat(MAX_HEAD + 100)}\r\n\r\n`),
    bytes(`GET / HTTP/1.1\r\nHost: a\r\n${"X-Many: 1\r\n".repeat(40)}\r\n`),
  ];
  const handler = async (req: Request) => {
    // A lower bound on the head's size: the fields as the handler sees them.
    let fields = 0;
    for (const [name, value] of req.headers) fields += name.length + value.length + 4;
    assert.ok(fields <= MAX_HEAD, `a head of at least ${fields} bytes reached the handler`);
    if (req.body) {
      try {
        await req.arrayBuffer();
      } catch (err) {
        assert.equal((err as Error).name, "BodyFormatError");
        return new Response("bad body", { status: 400 });
      }
    }
    return new Response("ok");
  };
  await fuzz({ seed: 0x434f4e4e, corpus, cases: 4000, randomCases: 200 }, async (input, rng) => {
    const t0 = performance.now();
    const whole = await serveBytes(input, [], handler, { maxHeadBytes: MAX_HEAD });
    assert.deepEqual(whole.errors, [], "no handler threw");
    for (const s of whole.statuses) assert.ok(ANSWERS.has(s), `status ${s}`);
    const first = input.subarray(leadingBlankLines(input));
    if (findHeadEnd(first) >= 0) {
      assert.ok(
        whole.statuses.some((s) => s !== 100),
        "a complete head gets an answer, not a silent close",
      );
    }
    // A client that sends all, then waits for the answers: the same however the bytes arrive.
    // (One that closes its side at once may lose answers to requests it pipelined: the layer
    // takes the end of the stream for a client gone, and how much of the input it had read by
    // then depends on the segmentation.)
    const held = await serveBytes(input, [], handler, { maxHeadBytes: MAX_HEAD }, HOLD);
    for (const cuts of [randomCuts(rng, input.length, 12), everyByte(input.length)]) {
      const split = await serveBytes(input, cuts, handler, { maxHeadBytes: MAX_HEAD }, HOLD);
      assert.deepEqual(split.statuses, held.statuses, `cut at ${cuts.slice(0, 12)}`);
      assert.deepEqual(split.drops, held.drops, `cut at ${cuts.slice(0, 12)}`);
    }
    assert.ok(performance.now() - t0 < 2000, "bounded time");
  });
});

Deno.test("fuzz corpus sanity: every corpus head parses as sent", () => {
  for (const input of CORPUS) {
    const rest = input.subarray(leadingBlankLines(input));
    const r = parseRequestHead(rest.subarray(0, findHeadEnd(rest)));
    assert.ok(r.ok, latin1(input));
  }
});
