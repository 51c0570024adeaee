/**
 * A local stand-in for the model hub (Deno.serve on a loopback port 0), shaped like Hugging
 * Face: GET /resolve/<file> answers 302 to /cdn/<file> with the LFS digest and size in
 * X-Linked-Etag / X-Linked-Size; /cdn/<file> serves the bytes with HTTP Range support.
 * Faults are injected per file to test what the fetcher does with them. `files` may be changed
 * while the hub runs (an upstream file replaced).
 */
import { createHash } from "node:crypto";

export interface HubFaults {
  /** Break the connection after this many body bytes, the next N times the file is sent. */
  dropAfter?: Record<string, { bytes: number; times: number }>;
  /** Answer this status instead of the file. */
  status?: Record<string, number>;
  /** Ignore Range headers (always 200 with the whole file). */
  ignoreRange?: boolean;
  /** Do not announce digests (a plain web server). */
  noDigest?: boolean;
  /** Announce this (wrong) digest for a file. */
  wrongDigest?: Record<string, string>;
}

export interface FixtureHub extends AsyncDisposable {
  baseUrl: string;
  /** Range headers received, per file ("" for none). */
  ranges: Record<string, string[]>;
  faults: HubFaults;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

export function startFixtureHub(
  files: Record<string, Uint8Array>,
  faults: HubFaults = {},
): FixtureHub {
  const ranges: Record<string, string[]> = {};
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const url = new URL(req.url);
    const m = /^\/(resolve|cdn)\/(.+)$/.exec(url.pathname);
    const name = m ? decodeURIComponent(m[2]) : "";
    const body = files[name];
    if (!m || !body) return new Response("not found\n", { status: 404 });
    const status = faults.status?.[name];
    if (status) return new Response(`injected ${status}\n`, { status });
    if (m[1] === "resolve") {
      const headers = new Headers({ location: `/cdn/${encodeURIComponent(name)}` });
      if (!faults.noDigest) {
        headers.set("x-linked-etag", `"${faults.wrongDigest?.[name] ?? sha256Hex(body)}"`);
        headers.set("x-linked-size", String(body.length));
      }
      return new Response(null, { status: 302, headers });
    }
    const range = req.headers.get("range") ?? "";
    // A HEAD (a probe of what the hub announces) sends no file: only GETs are recorded.
    if (req.method === "GET") (ranges[name] ??= []).push(range);
    let start = 0;
    const r = /^bytes=(\d+)-$/.exec(range);
    if (r && !faults.ignoreRange) {
      start = Number(r[1]);
      if (start >= body.length) {
        return new Response(null, {
          status: 416,
          headers: { "content-range": `bytes */${body.length}` },
        });
      }
    }
    const slice = body.subarray(start);
    const drop = faults.dropAfter?.[name];
    let stream: ReadableStream<Uint8Array>;
    if (drop && drop.times > 0) {
      drop.times--;
      const cut = Math.max(0, drop.bytes - start);
      stream = new ReadableStream({
        start(c) {
          c.enqueue(slice.subarray(0, cut));
        },
        async pull(c) {
          await new Promise((res) => setTimeout(res, 50));
          c.error(new Error("fixture hub: injected connection drop (expected by the test)"));
        },
      });
    } else {
      stream = new ReadableStream({
        start(c) {
          // Several chunks so progress and partial writes are exercised.
          for (let off = 0; off < slice.length; off += 65536) {
            c.enqueue(slice.subarray(off, off + 65536));
          }
          c.close();
        },
      });
    }
    const headers = new Headers({ "content-length": String(slice.length) });
    if (start > 0) headers.set("content-range", `bytes ${start}-${body.length - 1}/${body.length}`);
    return new Response(stream, { status: start > 0 ? 206 : 200, headers });
  });
  return {
    baseUrl: `http://127.0.0.1:${server.addr.port}/resolve`,
    ranges,
    faults,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}
