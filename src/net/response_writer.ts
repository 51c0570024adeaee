/**
 * Streams a handler's `Response` onto the connection. The body's first two reads decide the
 * framing: one chunk goes out with Content-Length (most answers here), more are chunked
 * (HTTP/1.0: written until the connection closes).
 */
import type { RequestHead } from "./http_head.ts";
import { bodyless, chunkFrame, type Framing, LAST_CHUNK, responseHead } from "./http_response.ts";
import { concatTwo } from "./conn_io.ts";

export async function writeResponse(
  res: Response,
  head: Pick<RequestHead, "method" | "minor">,
  keepAlive: boolean,
  write: (bytes: Uint8Array) => Promise<void>,
): Promise<void> {
  const noBody = bodyless(res.status, head.method);
  const reader = noBody ? null : res.body?.getReader() ?? null;
  if (noBody) await res.body?.cancel().catch(() => {});
  try {
    let first: Uint8Array | null = null;
    let framing: Framing = { kind: noBody ? "none" : "length", length: 0 };
    let more = false;
    if (reader) {
      const a = await reader.read();
      if (!a.done) {
        first = a.value;
        const b = await reader.read();
        if (b.done) framing = { kind: "length", length: first.length };
        else {
          more = true;
          framing = head.minor === 1 ? { kind: "chunked" } : { kind: "close" };
          first = concatTwo(first, b.value);
        }
      }
    }
    const headBytes = responseHead(
      res.status,
      res.statusText,
      res.headers,
      framing,
      keepAlive && framing.kind !== "close",
    );
    const chunked = framing.kind === "chunked";
    if (first && !chunked) await write(concatTwo(headBytes, first));
    else if (first) await write(concatTwo(headBytes, chunkFrame(first)));
    else await write(headBytes);
    while (more && reader) {
      const r = await reader.read();
      if (r.done) break;
      if (r.value.length === 0) continue;
      await write(chunked ? chunkFrame(r.value) : r.value);
    }
    if (chunked) await write(LAST_CHUNK);
  } finally {
    reader?.cancel().catch(() => {});
  }
}
