/**
 * Fuzz of the upload parser (`src/server/multipart_upload.ts`): for any content type and body,
 * `multipartBoundary` gives a boundary or null; `readBody` gives the body with every delimiter
 * found, the same for any chunking, or BodyTooLarge past the limit, or BadMultipart past the
 * delimiters a form of 1000 parts has; `parseMultipart` gives a form or throws BadMultipart, the
 * same with the delimiters readBody found as without, and a form whose file is a view of the
 * body, delimited as the format says, with headers within the 16 KiB cap and at most 1000 parts.
 * Each input is a content type, a NUL, then the body.
 */
import assert from "node:assert/strict";
import {
  BadMultipart,
  BodyTooLarge,
  findBytes,
  multipartBoundary,
  parseMultipart,
  readBody,
  type UploadedForm,
} from "../../src/server/multipart_upload.ts";
import { concat, fuzz, type Rng } from "../fuzz/mutator.ts";
import { randomCuts } from "../fuzz/memory_conn.ts";

/** MAX_UPLOAD_BYTES here; each case also tries the body's own length and just under it. */
const LIMIT = 24 * 1024;
const MAX_PART_HEADERS = 16 * 1024;
const MAX_PARTS = 1000;
const B = "fuzzBoundary7MA4YWxkTrZu0gW";
const bytes = (s: string) => new TextEncoder().encode(s);
const latin1 = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0) & 0xff);

/** The runtime's own encoding of a form, with its boundary replaced by `boundary`. */
async function encoded(form: FormData, boundary = B): Promise<Uint8Array> {
  const res = new Response(form);
  const body = new TextDecoder("latin1").decode(await res.arrayBuffer());
  const own = multipartBoundary(res.headers.get("content-type"))!;
  return latin1(body.replaceAll(own, boundary));
}

function input(contentType: string, body: Uint8Array): Uint8Array {
  return concat(bytes(contentType), Uint8Array.of(0), body);
}

async function corpus(): Promise<Uint8Array[]> {
  const audio = Uint8Array.from({ length: 3000 }, (_, i) => (i * 31 + (i >> 7)) & 0xff);
  audio.set(bytes("\r\n--"), 100); // a boundary's start inside the file
  const full = new FormData();
  full.append("model", "whisper-1");
  full.append("file", new Blob([audio]), "../../odd name.wav");
  full.append("timestamp_granularities[]", "word");
  full.append("timestamp_granularities[]", "segment");
  full.append("response_format", "verbose_json");
  const textOnly = new FormData();
  textOnly.append("file", "just text");
  textOnly.append("stream", "true");
  const empty = new FormData();
  empty.append("file", new Blob([]), "");
  const ct = `multipart/form-data; boundary=${B}`;
  const part = (headers: string, content: string) => `--${B}\r\n${headers}\r\n\r\n${content}\r\n`;
  return [
    input(ct, await encoded(full)),
    input(ct, await encoded(textOnly)),
    input(ct, await encoded(empty)),
    input(
      `Multipart/Form-Data ; charset=utf-8; boundary="a b:c"`,
      await encoded(full, "a b:c"),
    ),
    input(
      ct,
      bytes(
        "preamble to ignore\r\n" +
          part('Content-Disposition: form-data; name="language"', "fr") +
          part(
            `content-disposition: form-data; name="file"; filename*=UTF-8''n%C3%A9.ogg\r\n` +
              "Content-Type: audio/ogg",
            "OggS\x00\x02 bytes",
          ) +
          part("Content-Type: text/plain", "a part without a name") +
          part('Content-Disposition: form-data; name="file"; filename="second"', "ignored") +
          `--${B}--\r\nepilogue`,
      ),
    ),
    input(
      ct,
      bytes(
        part(`Content-Disposition: form-data; name="x"\r\nX-Pad: ${"p".repeat(16_300)}`, "v") +
          `--${B}--`,
      ),
    ),
    input(ct, bytes(`--${B}--`)),
  ];
}

/** A body as a request stream, cut into pieces at the given offsets. */
function streamOf(body: Uint8Array, cuts: readonly number[]): ReadableStream<Uint8Array> {
  const ends = [...new Set(cuts)].filter((c) => c > 0 && c < body.length).sort((a, b) => a - b);
  ends.push(body.length);
  let at = 0;
  return new ReadableStream({
    pull(c) {
      const end = ends.shift();
      if (end === undefined) c.close();
      else {
        c.enqueue(body.slice(at, end));
        at = end;
      }
    },
  });
}

type Parsed = { ok: true; form: UploadedForm } | { ok: false; error: string };

function parse(body: Uint8Array<ArrayBuffer>, boundary: string, delimiters?: number[]): Parsed {
  try {
    return { ok: true, form: parseMultipart(body, boundary, delimiters) };
  } catch (err) {
    assert.ok(err instanceof BadMultipart, `an undeclared ${(err as Error).name}: ${err}`);
    return { ok: false, error: err.name };
  }
}

function plain(p: Parsed) {
  return p.ok ? { file: p.form.file && [...p.form.file], fields: [...p.form.fields] } : p;
}

async function check(inputBytes: Uint8Array, rng: Rng): Promise<"form" | "bad" | "large" | "no"> {
  const t0 = performance.now();
  const nul = inputBytes.indexOf(0);
  const contentType = new TextDecoder("latin1").decode(inputBytes.subarray(0, Math.max(nul, 0)));
  const body = nul < 0 ? new Uint8Array(0) : inputBytes.subarray(nul + 1);
  const boundary = multipartBoundary(contentType);
  if (boundary === null) return "no";
  assert.ok(boundary.length >= 1 && boundary.length <= 70);
  const delimiter = bytes(`\r\n--${boundary}`);

  const all: number[] = [];
  for (let at = findBytes(body, delimiter); at >= 0; at = findBytes(body, delimiter, at + 1)) {
    all.push(at);
  }
  const limit = rng.pick([LIMIT, body.length, Math.max(0, body.length - 1 - rng.int(100))]);
  let read;
  try {
    read = await readBody(streamOf(body, randomCuts(rng, body.length, 12)), limit, boundary);
  } catch (err) {
    if (err instanceof BadMultipart) {
      assert.ok(all.length > MAX_PARTS + 1, `refused with ${all.length} delimiters`);
      return "bad";
    }
    assert.ok(err instanceof BodyTooLarge, `an undeclared ${(err as Error).name}: ${err}`);
    assert.ok(body.length > limit);
    return "large";
  }
  assert.ok(body.length <= limit);
  assert.deepEqual(read.bytes, body);
  assert.deepEqual(read.delimiters, all, "every delimiter, found as the chunks landed");

  const withFound = parse(read.bytes, boundary, read.delimiters);
  assert.deepEqual(plain(withFound), plain(parse(read.bytes, boundary)));
  assert.ok(performance.now() - t0 < 250, "bounded time");
  if (!withFound.ok) return "bad";

  const { file, fields } = withFound.form;
  let values = 0;
  for (const list of fields.values()) values += list.length;
  assert.ok(values + (file ? 1 : 0) <= all.length + 1, "no more parts than delimiters");
  assert.ok(values + (file ? 1 : 0) <= MAX_PARTS, "no more parts than the cap");
  if (file) {
    assert.equal(file.buffer, read.bytes.buffer, "a view of the body, not a copy");
    const start = file.byteOffset - read.bytes.byteOffset;
    const end = start + file.length;
    assert.ok(all.includes(end), "the file ends at a delimiter");
    assert.equal(findBytes(file, delimiter), -1, "no delimiter inside the file");
    // Its headers: from the line after the delimiter before it to the blank line.
    const text = new TextDecoder("latin1").decode(read.bytes.subarray(0, start));
    assert.ok(text.endsWith("\r\n\r\n"));
    const before = all.filter((d) => d < start).pop();
    const headersStart = before === undefined ? `--${boundary}\r\n`.length : before +
      delimiter.length + 2;
    assert.ok(start - 4 - headersStart <= MAX_PART_HEADERS, "part headers within the cap");
  }
  return "form";
}

Deno.test("fuzz: an upload body gives a form, BadMultipart or BodyTooLarge, and the same form however it arrives", async () => {
  const seen = { form: 0, bad: 0, large: 0, no: 0 };
  await fuzz(
    { seed: 0x4d504152, corpus: await corpus(), cases: 20_000, randomCases: 1000 },
    async (inputBytes, rng) => {
      seen[await check(inputBytes, rng)]++;
    },
  );
  assert.ok(Object.values(seen).every((n) => n > 500), JSON.stringify(seen));
});

Deno.test("fuzz: multipartBoundary takes any content type without throwing", async () => {
  const types = [
    "multipart/form-data; boundary=abc",
    'multipart/form-data; charset=x; boundary="a b"',
    "multipart/form-data;boundary=----WebKitFormBoundary7MA4YWxkTrZu0gW",
    "text/plain; boundary=abc",
  ].map(bytes);
  await fuzz({ seed: 0x42444e59, corpus: types, cases: 30_000, randomCases: 3000 }, (b) => {
    const boundary = multipartBoundary(new TextDecoder("latin1").decode(b));
    if (boundary !== null) {
      assert.ok(boundary.length >= 1 && boundary.length <= 70);
      assert.ok(!boundary.includes('"'));
    }
  });
});

Deno.test("the corpus parses as it was written", async () => {
  const [full, textOnly, , quoted, handmade] = await corpus();
  const form = (i: Uint8Array) => {
    const nul = i.indexOf(0);
    const b = multipartBoundary(new TextDecoder().decode(i.subarray(0, nul)))!;
    return parseMultipart(i.slice(nul + 1), b);
  };
  assert.equal(form(full).file?.length, 3000);
  assert.deepEqual(form(full).fields.get("timestamp_granularities[]"), ["word", "segment"]);
  assert.equal(form(textOnly).file, null);
  assert.equal(form(quoted).file?.length, 3000);
  assert.deepEqual(new TextDecoder().decode(form(handmade).file!), "OggS\x00\x02 bytes");
  assert.deepEqual(form(handmade).fields.get("language"), ["fr"]);
});
