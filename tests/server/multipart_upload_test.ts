import assert from "node:assert/strict";
import {
  BadMultipart,
  findBytes,
  multipartBoundary,
  parseMultipart,
  readBody,
} from "../../src/server/multipart_upload.ts";

const enc = (s: string) => new TextEncoder().encode(s);

/** A form of `n` text fields with boundary "b", opening at the body's first byte. */
const named = (n: number) =>
  "--b\r\n" + Array.from({ length: n }, (_, i) =>
    `content-disposition: form-data; name="f${i}"\r\n\r\nv\r\n--b`).join("\r\n") +
  "--";

async function encode(form: FormData) {
  const res = new Response(form);
  const body = new Uint8Array(await res.arrayBuffer());
  return { body, boundary: multipartBoundary(res.headers.get("content-type"))! };
}

Deno.test("parseMultipart reads what the runtime's FormData writes: the file part and text fields", async () => {
  const audio = new Uint8Array(300_000);
  for (let i = 0; i < audio.length; i++) audio[i] = (i * 31 + (i >> 7)) & 0xff;
  // Bytes that look like a boundary's start inside the file must not end the part.
  audio.set(new TextEncoder().encode("\r\n--"), 1000);
  const f = new FormData();
  f.append("model", "whisper-1");
  f.append("file", new Blob([audio]), "../../odd name.wav");
  f.append("timestamp_granularities[]", "word");
  f.append("timestamp_granularities[]", "segment");
  const { body, boundary } = await encode(f);
  const form = parseMultipart(body, boundary);
  assert.deepEqual(form.file, audio);
  assert.equal(form.file!.buffer, body.buffer, "a view of the body, not a copy");
  assert.deepEqual(form.fields.get("model"), ["whisper-1"]);
  assert.deepEqual(form.fields.get("timestamp_granularities[]"), ["word", "segment"]);
});

Deno.test("parseMultipart: a form without a file part has file null", async () => {
  const f = new FormData();
  f.append("file", "just text");
  const { body, boundary } = await encode(f);
  const form = parseMultipart(body, boundary);
  assert.equal(form.file, null);
  assert.deepEqual(form.fields.get("file"), ["just text"]);
});

Deno.test("parseMultipart refuses bodies that are not multipart with that boundary", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  const cases = [
    "no boundary anywhere",
    '--b\r\ncontent-disposition: form-data; name="file"; filename="x"\r\n\r\nbytes and no end',
    '--b\r\ncontent-disposition: form-data; name="file"' + "x".repeat(20_000),
    "--bXX",
  ];
  for (const c of cases) assert.throws(() => parseMultipart(enc(c), "b"), BadMultipart, c);
});

Deno.test("multipartBoundary takes the boundary of a multipart/form-data type, quoted or not", () => {
  assert.equal(multipartBoundary("multipart/form-data; boundary=abc"), "abc");
  assert.equal(multipartBoundary('multipart/form-data; charset=x; boundary="a b"'), "a b");
  assert.equal(multipartBoundary("text/plain; boundary=abc"), null);
  assert.equal(multipartBoundary("multipart/form-data"), null);
  assert.equal(multipartBoundary(null), null);
});

Deno.test("findBytes finds what a naive search finds, at every offset", () => {
  const hay = new Uint8Array(5000);
  for (let i = 0; i < hay.length; i++) hay[i] = (i * 7919) % 5; // a small alphabet: many near-hits
  const naive = (n: Uint8Array, from: number) => {
    outer: for (let i = from; i + n.length <= hay.length; i++) {
      for (let j = 0; j < n.length; j++) if (hay[i + j] !== n[j]) continue outer;
      return i;
    }
    return -1;
  };
  for (const needle of [[0], [1, 2], [3, 4, 0, 1], [4, 4, 4], [0, 2, 4, 1, 3, 0]]) {
    const n = new Uint8Array(needle);
    for (const from of [0, 1, 17, 2500, 4999]) {
      assert.equal(findBytes(hay, n, from), naive(n, from), `${needle} from ${from}`);
    }
  }
});

Deno.test("readBody finds every delimiter as chunks land, whatever the chunk sizes", async () => {
  const audio = new Uint8Array(200_000);
  for (let i = 0; i < audio.length; i++) audio[i] = (i * 131) & 0xff;
  const f = new FormData();
  f.append("model", "m");
  f.append("file", new Blob([audio]), "a");
  f.append("response_format", "text");
  const { body, boundary } = await encode(f);
  const expected = parseMultipart(body, boundary);
  for (const size of [1, 7, 13, 4096, 65536, body.length]) {
    let at = 0;
    const stream = new ReadableStream<Uint8Array>({
      pull(c) {
        if (at >= body.length) c.close();
        else c.enqueue(body.slice(at, at += size));
      },
    });
    const read = await readBody(stream, 1 << 20, boundary);
    assert.deepEqual(read.bytes, body, `${size}-byte chunks`);
    const form = parseMultipart(read.bytes, boundary, read.delimiters);
    assert.deepEqual(form.file, expected.file, `${size}-byte chunks`);
    assert.deepEqual(form.fields, expected.fields, `${size}-byte chunks`);
    assert.equal(read.delimiters.length, 3, `${size}-byte chunks: ${read.delimiters}`);
  }
});

Deno.test("a body of more parts than any form has is refused (the route's 400 invalid_body) without splitting it all", () => {
  // 12-byte parts: 100 MB of them held the event loop for over 30 s in one step.
  const tiny = enc("--b\r\n\r\n\r\nv\r\n".repeat(200_000) + "--b--");
  assert.throws(() => parseMultipart(tiny, "b"), BadMultipart, "more than 1000 parts");
  assert.equal(parseMultipart(enc(named(1000)), "b").fields.size, 1000);
  assert.throws(() => parseMultipart(enc(named(1001)), "b"), BadMultipart);
});

/** `body` in chunks of `size` bytes, telling how much was pulled and whether it was cancelled. */
function chunked(body: Uint8Array, size: number) {
  const seen = { pulled: 0, cancelled: false };
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (seen.pulled >= body.length) return c.close();
      c.enqueue(body.subarray(seen.pulled, seen.pulled + size));
      seen.pulled = Math.min(body.length, seen.pulled + size);
    },
    cancel() {
      seen.cancelled = true;
    },
  });
  return { stream, seen };
}

Deno.test("readBody refuses more delimiters than a form of 1000 parts has, without reading the rest", async () => {
  const refusal = (err: unknown) =>
    err instanceof BadMultipart && err.message === "more than 1000 parts";
  // 1000 parts: 1000 delimiters, or 1001 when a CRLF comes before the first.
  for (const body of [named(1000), "\r\n" + named(1000)]) {
    const read = await readBody(chunked(enc(body), 4096).stream, 1 << 20, "b");
    assert.equal(parseMultipart(read.bytes, "b", read.delimiters).fields.size, 1000);
  }
  for (const body of [named(1002), "\r\n" + named(1001), named(5000)]) {
    await assert.rejects(readBody(chunked(enc(body), 4096).stream, 1 << 20, "b"), refusal);
  }
  // 16.8 MB of 12-byte parts: refused within its first chunks, the rest never pulled.
  const tiny = enc("\r\n--b\r\n\r\n\r\nv".repeat(1_400_000));
  const { stream, seen } = chunked(tiny, 65536);
  await assert.rejects(readBody(stream, 1 << 25, "b"), refusal);
  assert.ok(seen.pulled <= 4 * 65536, `${seen.pulled} bytes pulled`);
  assert.ok(seen.cancelled, "the rest of the body is cancelled");
});
