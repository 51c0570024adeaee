/**
 * Fuzz of request-body decoding (`src/net/http_body.ts`) over a connection in memory: a chunked
 * or Content-Length body gives its bytes or a BodyFormatError, never another exception; an
 * accepted chunked body kept to the line and trailer caps; and the outcome, and where the body
 * ended, are the same whether its bytes arrive whole, cut at random or one at a time.
 */
import assert from "node:assert/strict";
import { BodyPace } from "../../src/net/body_pace.ts";
import { ConnReader } from "../../src/net/conn_reader.ts";
import { type BodyEnd, chunkedBody, lengthBody } from "../../src/net/http_body.ts";
import { PacedReader } from "../../src/net/paced_reader.ts";
import { concat, fuzz } from "../fuzz/mutator.ts";
import { every, everyByte, MemoryConn, randomCuts } from "../fuzz/memory_conn.ts";

/** The caps http_body.ts enforces: a chunk-size line, and the trailer section. */
const MAX_LINE_BYTES = 4096;
const MAX_TRAILER_BYTES = 16 * 1024;

const bytes = (s: string) => new TextEncoder().encode(s);
const latin1 = new TextDecoder("latin1");

type Outcome =
  | { ok: true; body: Uint8Array; consumed: number; end: BodyEnd | null }
  | { ok: false; error: string; end: BodyEnd | null };

async function decode(
  input: Uint8Array,
  cuts: readonly number[],
  body: "chunked" | number,
): Promise<Outcome> {
  const conn = new MemoryConn(input, cuts);
  const reader = new ConnReader(conn.asConn());
  const paced = new PacedReader(reader, new BodyPace(10_000, 1), () => {
    throw new Error("too slow: impossible in memory");
  });
  let end: BodyEnd | null = null;
  const onEnd = (how: BodyEnd) => {
    assert.equal(end, null, "the end is told once");
    end = how;
  };
  const stream = body === "chunked" ? chunkedBody(paced, onEnd) : lengthBody(paced, body, onEnd);
  const parts: Uint8Array[] = [];
  try {
    for await (const part of stream) parts.push(part);
  } catch (err) {
    return { ok: false, error: (err as Error).name, end };
  }
  return {
    ok: true,
    body: concat(...parts),
    consumed: conn.position - reader.buffered.length,
    end,
  };
}

/**
 * Walks an accepted chunked body as the decoder read it, checking every line against the caps;
 * returns the data and where the body ended.
 */
function walkChunked(input: Uint8Array): { data: Uint8Array; end: number } {
  const text = latin1.decode(input);
  const parts: Uint8Array[] = [];
  let at = 0;
  const line = () => {
    const crlf = text.indexOf("\r\n", at);
    assert.ok(crlf >= 0);
    const l = text.slice(at, crlf);
    assert.ok(l.length <= MAX_LINE_BYTES, `an accepted line of ${l.length} bytes`);
    at = crlf + 2;
    return l;
  };
  for (;;) {
    const size = parseInt(line().split(";")[0].trim(), 16);
    if (size === 0) break;
    parts.push(input.subarray(at, at + size));
    at += size;
    assert.equal(line(), "");
  }
  let trailers = 0;
  for (let t = line(); t !== ""; t = line()) trailers += t.length;
  assert.ok(trailers <= MAX_TRAILER_BYTES, `accepted trailers of ${trailers} bytes`);
  return { data: concat(...parts), end: at };
}

const CHUNKED = [
  "5\r\nhello\r\n0\r\n\r\n",
  '5;name=value;q="x y"\r\nhello\r\n6\r\n world\r\n0\r\n\r\n',
  "A\r\n0123456789\r\na\r\nabcdefghij\r\n0\r\n\r\n",
  "0005\r\nhello\r\n000\r\nX-Trailer: v\r\nX-Other: w\r\n\r\n",
  `12c\r\n${"b".repeat(300)}\r\n0\r\n\r\nGET /next HTTP/1.1\r\n\r\n`,
  "0\r\n\r\n",
  `1;${"e".repeat(MAX_LINE_BYTES - 10)}\r\nx\r\n0\r\n\r\n`,
  `3\r\nabc\r\n0\r\n${`X-T: ${"t".repeat(3990)}\r\n`.repeat(4)}\r\n`,
].map(bytes);

Deno.test("fuzz: a chunked body decodes to its data or a BodyFormatError, the same however it arrives", async () => {
  const seen = { ok: 0, error: 0 };
  await fuzz(
    { seed: 0x43484e4b, corpus: CHUNKED, cases: 2500, randomCases: 300, maxRandomLength: 64 },
    async (input, rng) => {
      const t0 = performance.now();
      const whole = await decode(input, [], "chunked");
      if (whole.ok) {
        seen.ok++;
        assert.equal(whole.end, "complete");
        const walked = walkChunked(input);
        assert.deepEqual(whole.body, walked.data);
        assert.equal(whole.consumed, walked.end, "the body ends where its last CRLF does");
      } else {
        seen.error++;
        assert.equal(whole.error, "BodyFormatError");
        assert.equal(whole.end, "abandoned");
      }
      // One byte a time is the slowest peer; longer inputs come in some 300 small reads (each
      // read allocates a 16 KiB buffer: 16 KiB byte by byte would slow every case down).
      const slow = input.length <= 1500
        ? everyByte(input.length)
        : every(Math.ceil(input.length / 300) + rng.int(4), input.length);
      for (const cuts of [randomCuts(rng, input.length, 16), slow]) {
        assert.deepEqual(
          await decode(input, cuts, "chunked"),
          whole,
          `cut at ${cuts.slice(0, 16)}`,
        );
      }
      assert.ok(performance.now() - t0 < 2000, "bounded time");
    },
  );
  assert.ok(seen.ok > 300 && seen.error > 300, JSON.stringify(seen));
});

Deno.test("fuzz: a Content-Length body is its first bytes, or a BodyFormatError when the input ends short", async () => {
  const corpus = [bytes("hello"), bytes("x".repeat(1000)), new Uint8Array(70_000)];
  await fuzz({ seed: 0x4c454e47, corpus, cases: 1500 }, async (input, rng) => {
    const length = rng.pick([1, input.length, input.length + 1, 1 + rng.int(input.length + 8)]);
    if (length < 1) return;
    const whole = await decode(input, [], length);
    if (length <= input.length) {
      assert.ok(whole.ok);
      assert.deepEqual(whole.body, input.subarray(0, length));
      assert.equal(whole.consumed, length);
    } else assert.deepEqual(whole, { ok: false, error: "BodyFormatError", end: "abandoned" });
    assert.deepEqual(await decode(input, randomCuts(rng, input.length, 16), length), whole);
  });
});
