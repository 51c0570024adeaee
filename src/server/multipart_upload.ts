/**
 * Reads an uploaded multipart/form-data body into one buffer and finds its parts in place. The
 * runtime's `formData()` copies a body three times and scanned a 94 MB one on the main thread
 * for over a second; here the body is copied once, from the socket into a buffer that grows to
 * at most the limit, and the boundaries are searched chunk by chunk as the body arrives
 * (Boyer-Moore-Horspool), so no single step of the event loop scans more than one chunk. The
 * file part is a view of that buffer, not a copy.
 */

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the body exceeds ${limit} bytes`);
  }
}

export class BadMultipart extends Error {}

export interface UploadedForm {
  /** The bytes of the part named `file` that carries a filename, or null. A view of the body. */
  file: Uint8Array<ArrayBuffer> | null;
  /** Text fields, by name, in order. */
  fields: Map<string, string[]>;
}

/** Bytes copied and scanned between two returns to the event loop. */
const YIELD_BYTES = 4 << 20;

/** Longest header block of one part. */
const MAX_PART_HEADERS = 16 * 1024;

/**
 * Most parts a form may have; the API's fields are a dozen. Splitting is one step of the event
 * loop: 100 MB of 12-byte parts (8 million of them) held it for over 30 s.
 */
const MAX_PARTS = 1000;

/** A body read whole, with where its boundary delimiters were found (if one was given). */
export interface ReadBody {
  bytes: Uint8Array<ArrayBuffer>;
  /** Sorted offsets of every `\r\n--boundary` in `bytes`. */
  delimiters: number[];
}

/**
 * The body, read into one buffer of its exact length; more than `limit` bytes throws
 * BodyTooLarge. With a boundary, each new chunk is searched for its delimiter as it lands, and
 * more delimiters than a form of MAX_PARTS parts has throws BadMultipart.
 */
export async function readBody(
  body: ReadableStream<Uint8Array> | null,
  limit: number,
  boundary?: string,
): Promise<ReadBody> {
  const buf = new ArrayBuffer(0, { maxByteLength: limit });
  const delimiter = boundary === undefined ? null : delimiterOf(boundary);
  const skip = delimiter && skipTable(delimiter);
  const delimiters: number[] = [];
  let used = 0;
  let scanned = 0; // offsets below this hold no delimiter start not yet recorded
  let yielded = 0;
  if (body) {
    for await (const chunk of body) {
      // Chunks already buffered arrive as one run of microtasks: hand the event loop back every
      // few megabytes so other requests are served while a large body is copied and scanned.
      if (used - yielded > YIELD_BYTES) {
        await new Promise((r) => setTimeout(r, 0));
        yielded = used;
      }
      if (used + chunk.length > limit) throw new BodyTooLarge(limit);
      if (used + chunk.length > buf.byteLength) {
        buf.resize(Math.min(limit, Math.max(used + chunk.length, buf.byteLength * 2, 65536)));
      }
      new Uint8Array(buf, used, chunk.length).set(chunk);
      used += chunk.length;
      if (delimiter && skip) {
        const view = new Uint8Array(buf, 0, used);
        for (let at = findBytes(view, delimiter, scanned, skip); at >= 0;) {
          // A form of MAX_PARTS parts has at most MAX_PARTS + 1 delimiters: past them the rest
          // of the body is neither read nor indexed (100 MB of tiny parts is 8 million offsets).
          if (delimiters.length > MAX_PARTS) throw new BadMultipart(`more than ${MAX_PARTS} parts`);
          delimiters.push(at);
          at = findBytes(view, delimiter, at + 1, skip);
        }
        scanned = Math.max(scanned, used - delimiter.length + 1);
      }
    }
  }
  buf.resize(used);
  return { bytes: new Uint8Array(buf, 0, used), delimiters };
}

function delimiterOf(boundary: string): Uint8Array {
  return new TextEncoder().encode(`\r\n--${boundary}`);
}

/** The boundary of a multipart/form-data content type, or null. */
export function multipartBoundary(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = contentType.match(/;\s*boundary=(?:"([^"]{1,70})"|([^\s;"]{1,70}))/i);
  return m ? (m[1] ?? m[2]) : null;
}

/**
 * Boyer-Moore-Horspool's shifts for `needle`. A search that finds many matches builds them once:
 * built per match, they made a body of tiny parts cost 20 times its scan.
 */
function skipTable(needle: Uint8Array): Int32Array {
  const m = needle.length;
  const skip = new Int32Array(256).fill(m);
  for (let i = 0; i < m - 1; i++) skip[needle[i]] = m - 1 - i;
  return skip;
}

/** First index of `needle` in `hay` at or after `from`, or -1 (Boyer-Moore-Horspool). */
export function findBytes(
  hay: Uint8Array,
  needle: Uint8Array,
  from = 0,
  skip = skipTable(needle),
): number {
  const m = needle.length;
  const last = needle[m - 1];
  for (let i = from; i + m <= hay.length;) {
    const c = hay[i + m - 1];
    if (c === last) {
      let j = m - 2;
      while (j >= 0 && hay[i + j] === needle[j]) j--;
      if (j < 0) return i;
    }
    i += skip[c];
  }
  return -1;
}

const ascii = (s: string) => new TextEncoder().encode(s);

/**
 * Splits a multipart/form-data body into its fields and its `file` part. `delimiters` are the
 * offsets readBody found; without them the body is searched here.
 */
export function parseMultipart(
  body: Uint8Array<ArrayBuffer>,
  boundary: string,
  delimiters?: number[],
): UploadedForm {
  const delimiter = delimiterOf(boundary);
  const found = delimiters ?? allOf(body, delimiter);
  let next = 0; // index into `found`
  const nextDelimiter = (from: number) => {
    while (next < found.length && found[next] < from) next++;
    return next < found.length ? found[next] : -1;
  };
  const fields = new Map<string, string[]>();
  let file: Uint8Array<ArrayBuffer> | null = null;
  // The first delimiter may open the body without the leading CRLF.
  const opening = ascii(`--${boundary}`);
  let at: number;
  if (startsWith(body, opening, 0)) at = opening.length;
  else {
    const first = nextDelimiter(0);
    if (first < 0) throw new BadMultipart("no opening boundary");
    at = first + delimiter.length;
  }
  const decoder = new TextDecoder();
  for (let parts = 0;; parts++) {
    if (startsWith(body, ascii("--"), at)) return { file, fields }; // the closing delimiter
    if (parts === MAX_PARTS) throw new BadMultipart(`more than ${MAX_PARTS} parts`);
    if (!startsWith(body, ascii("\r\n"), at)) throw new BadMultipart("malformed boundary line");
    const headersStart = at + 2;
    const headersEnd = findBytes(
      body.subarray(headersStart, headersStart + MAX_PART_HEADERS),
      ascii("\r\n\r\n"),
    );
    if (headersEnd < 0) throw new BadMultipart("a part's headers do not end");
    const headers = decoder.decode(body.subarray(headersStart, headersStart + headersEnd));
    const contentStart = headersStart + headersEnd + 4;
    const end = nextDelimiter(contentStart);
    if (end < 0) throw new BadMultipart("the body ends inside a part");
    const disposition = headers.split("\r\n").find((h) => /^content-disposition\s*:/i.test(h));
    const name = disposition?.match(/;\s*name="([^"]*)"/i)?.[1];
    const isFile = disposition !== undefined && /;\s*filename\*?=/i.test(disposition);
    if (name !== undefined) {
      if (isFile) {
        if (name === "file" && file === null) file = body.subarray(contentStart, end);
      } else {
        const list = fields.get(name) ?? [];
        list.push(decoder.decode(body.subarray(contentStart, end)));
        fields.set(name, list);
      }
    }
    at = end + delimiter.length;
  }
}

function allOf(hay: Uint8Array, needle: Uint8Array): number[] {
  const skip = skipTable(needle);
  const out: number[] = [];
  for (let at = findBytes(hay, needle, 0, skip); at >= 0;) {
    out.push(at);
    at = findBytes(hay, needle, at + 1, skip);
  }
  return out;
}

function startsWith(hay: Uint8Array, prefix: Uint8Array, at: number): boolean {
  if (at < 0 || at + prefix.length > hay.length) return false;
  for (let i = 0; i < prefix.length; i++) if (hay[at + i] !== prefix[i]) return false;
  return true;
}
