/**
 * Fuzz of message assembly (`src/net/ws_assembly.ts`) on its own and as the server socket uses
 * it: fragments of any sizes come back as exactly their concatenation; and a `ServerWebSocket`
 * read from a connection in memory delivers only messages within their kind's limit (text as
 * valid UTF-8), answers with the close codes RFC 6455 names for what it saw, and delivers and
 * closes the same whether the bytes arrive whole, cut at random or one at a time.
 */
import assert from "node:assert/strict";
import { ConnReader } from "../../src/net/conn_reader.ts";
import { Assembly } from "../../src/net/ws_assembly.ts";
import { parseClosePayload, parseFrameHeader } from "../../src/net/ws_frame.ts";
import { ServerWebSocket, type SocketEnd } from "../../src/net/ws_socket.ts";
import { concat, fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";
import { everyByte, MemoryConn, randomCuts } from "../fuzz/memory_conn.ts";
import { frameStreams, pcm } from "../fuzz/ws_frames.ts";

Deno.test("fuzz: an assembly gives back exactly the fragments it was given, message after message", () => {
  const rng = seededRng(0x41534d42);
  const assembly = new Assembly();
  for (let message = 0; message < 5000; message++) {
    const parts = Array.from(
      { length: rng.int(12) },
      () => randomBytes(rng, rng.pick([0, 0, 1, 2, 3, 100, 1023, 1024, 1025, 3000])),
    );
    for (const part of parts) assembly.add(part);
    assert.deepEqual(assembly.take(), concat(...parts), `message ${message}`);
  }
  assert.deepEqual(assembly.take(), new Uint8Array(0), "empty once taken");
});

const LIMITS = { maxBinaryBytes: 1000, maxTextBytes: 100 };
/** Codes the server's close frame may carry: the peer's own (echoed), or one for what it did. */
const OWN_CODES = new Set([1002, 1007, 1009]);

interface Outcome {
  messages: (string | number[])[];
  /** The code of the server's close frame, if it sent one. */
  sentClose: number | null;
  closeCode: number;
  how: SocketEnd;
}

async function readSocket(input: Uint8Array, cuts: readonly number[]): Promise<Outcome> {
  const conn = new MemoryConn(input, cuts);
  const socket = new ServerWebSocket({ ...LIMITS, idleTimeoutMs: 60_000 });
  socket.binaryType = "arraybuffer";
  const messages: (string | number[])[] = [];
  socket.onmessage = (e) => {
    if (typeof e.data === "string") {
      assert.ok(new TextEncoder().encode(e.data).length <= LIMITS.maxTextBytes, "text limit");
      messages.push(e.data);
    } else {
      const bytes = new Uint8Array(e.data as ArrayBuffer);
      assert.ok(bytes.length <= LIMITS.maxBinaryBytes, "binary limit");
      messages.push([...bytes]);
    }
  };
  let closeCode = -1;
  socket.onclose = (e) => (closeCode = e.code);
  const ended = Promise.withResolvers<SocketEnd>();
  assert.ok(socket.start(conn.asConn(), new ConnReader(conn.asConn()), ended.resolve));
  const how = await ended.promise;
  assert.equal(socket.readyState, ServerWebSocket.CLOSED);
  return { messages, sentClose: firstClose(conn.output), closeCode, how };
}

/** The code in the first close frame among the server's (unmasked) frames. */
function firstClose(out: Uint8Array): number | null {
  for (let at = 0; at < out.length;) {
    const h = parseFrameHeader(out.subarray(at));
    assert.ok(h.kind === "header" && !h.header.masked, "a well-formed server frame");
    const payload = out.subarray(at + h.header.size, at + h.header.size + h.header.length);
    if (h.header.opcode === 8) {
      const info = parseClosePayload(payload);
      assert.ok(info.ok, "the server's close frame parses");
      return info.code;
    }
    at += h.header.size + h.header.length;
  }
  return null;
}

Deno.test("fuzz: the server socket delivers messages within their limits, and the same however the bytes arrive", async () => {
  const corpus = frameStreams();
  const seen = new Map<string, number>();
  await fuzz({ seed: 0x57534f43, corpus, cases: 12_000, randomCases: 1000 }, async (input, rng) => {
    const t0 = performance.now();
    const whole = await readSocket(input, []);
    if (whole.sentClose !== null) {
      // Ours (1002, 1007, 1009) or the peer's echoed: a code a peer may send, or 1005 for none.
      const c = whole.sentClose;
      assert.ok(
        OWN_CODES.has(c) || c === 1005 || (c >= 1000 && c <= 1003) || (c >= 1007 && c <= 4999),
        `close ${c}`,
      );
      // A frame breaking the protocol after our close ends the socket with its own code.
      if (whole.how === "protocol_error") assert.ok([1002, 1007].includes(whole.closeCode));
      else assert.equal(whole.closeCode, c);
    } else assert.equal(whole.closeCode, 1006, "no close frame: the stream just ended");
    seen.set(String(whole.sentClose), (seen.get(String(whole.sentClose)) ?? 0) + 1);
    for (const cuts of [randomCuts(rng, input.length, 16), everyByte(input.length)]) {
      const split = await readSocket(input, cuts);
      assert.deepEqual(split, whole, `cut at ${cuts.slice(0, 16)}`);
    }
    assert.ok(performance.now() - t0 < 2000, "bounded time");
  });
  for (const code of ["null", "1000", "1002", "1007", "1009"]) {
    assert.ok((seen.get(code) ?? 0) > 20, `close ${code}: ${seen.get(code)} cases`);
  }
});

Deno.test("the corpus's streams are delivered as sent, at the limits too", async () => {
  const streams = frameStreams();
  assert.deepEqual((await readSocket(streams[0], [])).messages, ["hello"]);
  assert.deepEqual((await readSocket(streams[1], [])).messages, [
    '{"type":"EOS","héllo":"wörld ✓"}',
  ]);
  assert.deepEqual((await readSocket(streams[6], everyByte(streams[6].length))).messages, [
    "hello",
  ]);
  assert.deepEqual((await readSocket(streams[13], [])).messages, ["x".repeat(100), [...pcm(1000)]]);
  const close = await readSocket(streams[10], []);
  assert.deepEqual([close.sentClose, close.closeCode, close.how], [4001, 4001, "closed"]);
});
