/**
 * The connection reader against a peer that sends a byte per TCP segment: what it copies stays
 * proportional to what arrives, and a view it handed out is never written over.
 */
import assert from "node:assert/strict";
import { ConnReader } from "../../src/net/conn_reader.ts";
import { everyByte, MemoryConn } from "../fuzz/memory_conn.ts";
import { serveBytes } from "../fuzz/memory_http.ts";

/**
 * Bytes copied by typed arrays' `set` while `fn` runs: how the reader (and the memory
 * connection, a byte per read here) copies.
 */
async function bytesCopied(fn: () => Promise<unknown>): Promise<number> {
  const proto = Object.getPrototypeOf(Uint8Array.prototype);
  const set = proto.set;
  let copied = 0;
  proto.set = function (this: Uint8Array, source: ArrayLike<number>, offset?: number) {
    copied += source.length;
    return set.call(this, source, offset);
  };
  try {
    await fn();
  } finally {
    proto.set = set;
  }
  return copied;
}

Deno.test("bytes arriving one per read are copied a few times each, not all again on every read", async () => {
  const input = new Uint8Array(64 * 1024).map((_, i) => i * 7);
  const reader = new ConnReader(new MemoryConn(input, everyByte(input.length)).asConn());
  const copied = await bytesCopied(async () => {
    while (await reader.fill());
  });
  assert.deepEqual(reader.buffered, input);
  // Copying all that is held on each read is n²/2: 2 GiB here.
  assert.ok(copied < 8 * input.length, `${copied} bytes copied for ${input.length}`);
});

Deno.test("a 32 KiB request head sent a byte per read is answered, its copying linear", async () => {
  const head = `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${"a".repeat(32 * 1024 - 100)}\r\n\r\n`;
  const input = new TextEncoder().encode(head);
  let served: Awaited<ReturnType<typeof serveBytes>> | undefined;
  const copied = await bytesCopied(async () => {
    served = await serveBytes(input, everyByte(input.length), () => new Response("ok"));
  });
  assert.deepEqual(served?.statuses, [200]);
  assert.ok(copied < 8 * input.length, `${copied} bytes copied for ${input.length}`);
});

Deno.test("a view of the buffered bytes keeps its bytes through later reads and consumes", async () => {
  const input = new Uint8Array(40_000).map((_, i) => i % 251);
  const cuts = [1, 2, 3, 10, 100, 5000, 5001, 20_000, 20_001, 20_002];
  const reader = new ConnReader(new MemoryConn(input, cuts).asConn());
  const views: [Uint8Array, Uint8Array][] = [];
  let at = 0;
  while (await reader.fill()) {
    const b = reader.buffered;
    assert.deepEqual(b, input.subarray(at, at + b.length));
    views.push([b, b.slice()]);
    // Consume part of what is held, sometimes all of it, so buffers are kept, grown and dropped.
    const n = views.length % 3 === 0 ? b.length : b.length >> 1;
    views.push([reader.take(n), input.slice(at, at + n)]);
    at += n;
  }
  for (const [view, bytes] of views) assert.deepEqual(view, bytes);
});
