import { createHash } from "node:crypto";
import { type Progress, progressBar } from "./progress.ts";

/**
 * Downloads one file so that its final name only ever holds a complete, verified file:
 * bytes go to `<dest>.part`, which is renamed to `<dest>` once its size and SHA-256 check out.
 *
 * - Resume: an existing `.part` is continued with an HTTP Range request; a server that answers
 *   200 instead of 206 sends the whole file again, so the `.part` is restarted.
 * - Verification: the expected SHA-256 is the pinned one, else the one the server announces
 *   (Hugging Face's `X-Linked-Etag` on its redirect, or `X-Checksum-Sha256`). A mismatch
 *   deletes the `.part` (its bytes are wrong, resuming them is pointless) and fails.
 * - Interruption (network, server error, full disk) keeps the `.part` for the next run.
 */
export class FetchError extends Error {
  override name = "FetchError";
}

export interface DownloadOptions {
  expectedSha256?: string;
  expectedSize?: number;
  /** Give up when the server has not answered (headers) or sent a byte for this long. */
  stallTimeoutMs?: number;
  progress?: (total: number | null) => Progress;
  fetchImpl?: typeof fetch;
}

export interface DownloadResult {
  path: string;
  bytes: number;
  sha256: string;
  /** Where the digest that was checked came from, or "none" when nothing could be checked. */
  verifiedBy: "manifest" | "server" | "none";
  resumedFrom: number;
}

const SHA256_HEX = /^[0-9a-f]{64}$/;
const MAX_REDIRECTS = 5;

/** The SHA-256 a server announces for the file, if any (quotes and `sha256:` stripped). */
function announcedSha256(headers: Headers): string | undefined {
  for (const name of ["x-linked-etag", "x-checksum-sha256"]) {
    const raw = headers.get(name)?.trim().replace(/^W\//, "").replaceAll('"', "")
      .replace(/^sha256:/, "").toLowerCase();
    if (raw && SHA256_HEX.test(raw)) return raw;
  }
  return undefined;
}

function fileSize(path: string): number {
  try {
    return Deno.statSync(path).size;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return 0;
    throw err;
  }
}

/** Hashes the bytes already in `path` (the part being resumed). */
async function hashExisting(path: string, hash: ReturnType<typeof createHash>): Promise<void> {
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
}

function isDiskFull(err: unknown): boolean {
  return err instanceof Error &&
    (/No space left on device|os error 28|ENOSPC|Disk quota exceeded/i.test(err.message));
}

/**
 * GET with redirects followed by hand, so the headers of the redirect itself (where Hugging
 * Face puts the LFS digest and size) are seen. Returns the final response and every announced
 * digest/size met on the way.
 */
async function getFollowing(
  url: string,
  headers: HeadersInit,
  signal: AbortSignal,
  fetchImpl: typeof fetch,
  method: "GET" | "HEAD" = "GET",
): Promise<{ response: Response; sha256?: string; linkedSize?: number }> {
  let current = url;
  let sha256: string | undefined;
  let linkedSize: number | undefined;
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const response = await fetchImpl(current, { method, headers, signal, redirect: "manual" });
    sha256 ??= announcedSha256(response.headers);
    const ls = Number(response.headers.get("x-linked-size"));
    if (Number.isSafeInteger(ls) && ls > 0) linkedSize ??= ls;
    const location = response.headers.get("location");
    if (response.status >= 300 && response.status < 400 && location) {
      await response.body?.cancel();
      current = new URL(location, current).href;
      continue;
    }
    return { response, sha256, linkedSize };
  }
  throw new FetchError(`GET ${url}: more than ${MAX_REDIRECTS} redirects; giving up`);
}

/**
 * What the server says of a file without sending it (a HEAD, redirects followed by hand): the
 * SHA-256 and size it announces, if any. For noticing that an upstream file changed.
 */
export async function probeFile(
  url: string,
  opts: { fetchImpl?: typeof fetch; timeoutMs?: number } = {},
): Promise<{ sha256?: string; size?: number }> {
  const signal = AbortSignal.timeout(opts.timeoutMs ?? 60_000);
  try {
    const got = await getFollowing(url, {}, signal, opts.fetchImpl ?? fetch, "HEAD");
    await got.response.body?.cancel();
    if (!got.response.ok) {
      throw new FetchError(`HEAD ${url}: ${got.response.status} ${got.response.statusText}`);
    }
    const length = Number(got.response.headers.get("content-length"));
    const size = got.linkedSize ??
      (Number.isSafeInteger(length) && length > 0 ? length : undefined);
    return { sha256: got.sha256, size };
  } catch (err) {
    if (err instanceof FetchError) throw err;
    throw new FetchError(`HEAD ${url}: ${(err as Error).message}`);
  }
}

export async function downloadFile(
  url: string,
  dest: string,
  opts: DownloadOptions = {},
): Promise<DownloadResult> {
  const part = `${dest}.part`;
  const fetchImpl = opts.fetchImpl ?? fetch;
  const stallMs = opts.stallTimeoutMs ?? 60_000;
  let have = fileSize(part);
  if (opts.expectedSize !== undefined && have > opts.expectedSize) {
    // Longer than the file can be: not a prefix of it.
    await Deno.remove(part);
    have = 0;
  }

  const abort = new AbortController();
  let timer = setTimeout(() => abort.abort(), stallMs);
  const kick = () => {
    clearTimeout(timer);
    timer = setTimeout(() => abort.abort(), stallMs);
  };
  const stalled = () =>
    new FetchError(
      `GET ${url}: no data for ${stallMs / 1000} s; ${
        fileSize(part)
      } bytes kept in ${part}, rerun to resume`,
    );

  try {
    let got: Awaited<ReturnType<typeof getFollowing>>;
    try {
      got = await getFollowing(
        url,
        have > 0 ? { range: `bytes=${have}-` } : {},
        abort.signal,
        fetchImpl,
      );
    } catch (err) {
      if (abort.signal.aborted) throw stalled();
      if (err instanceof FetchError) throw err;
      throw new FetchError(
        `GET ${url}: ${err instanceof Error ? err.message : String(err)} (is the host reachable?)`,
      );
    }
    const { response } = got;
    let resumedFrom = 0;
    if (response.status === 416 && have > 0) {
      // The range starts at or past the end: the .part may already be the whole file. Verify it
      // as is; a wrong one is deleted below and the next run starts over.
      await response.body?.cancel();
      resumedFrom = have;
    } else if (response.status === 206 && have > 0) {
      const start = Number(/bytes (\d+)-/.exec(response.headers.get("content-range") ?? "")?.[1]);
      if (start !== have) {
        await response.body?.cancel();
        throw new FetchError(
          `GET ${url}: asked to resume at byte ${have}, the server answered from byte ${start}; ` +
            `delete ${part} and rerun`,
        );
      }
      resumedFrom = have;
    } else if (response.status === 200) {
      resumedFrom = 0; // full body: start the part over
    } else {
      await response.body?.cancel();
      throw new FetchError(
        `GET ${url}: the server answered HTTP ${response.status} ${response.statusText}, ` +
          `expected 200 or 206` + (have > 0 ? `; ${have} bytes kept in ${part} for a rerun` : ""),
      );
    }

    const expectedSha = opts.expectedSha256?.toLowerCase() ?? got.sha256;
    const verifiedBy = opts.expectedSha256 ? "manifest" : got.sha256 ? "server" : "none";
    const contentLength = Number(response.headers.get("content-length"));
    const total = opts.expectedSize ?? got.linkedSize ??
      (Number.isSafeInteger(contentLength) && response.body ? resumedFrom + contentLength : null);

    const hash = createHash("sha256");
    if (resumedFrom > 0) await hashExisting(part, hash);
    let done = resumedFrom;
    const bar = opts.progress?.(total) ?? progressBar(dest.split("/").pop()!, total);
    if (response.status !== 416) {
      const file = await Deno.open(part, {
        write: true,
        create: true,
        append: resumedFrom > 0,
        truncate: resumedFrom === 0,
      });
      try {
        const reader = response.body!.getReader();
        while (true) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (err) {
            if (abort.signal.aborted) throw stalled();
            throw new FetchError(
              `GET ${url}: the connection broke after ${done} bytes` +
                (total ? ` of ${total}` : "") +
                ` (${err instanceof Error ? err.message : err}); kept in ${part}, rerun to resume`,
            );
          }
          if (chunk.done) break;
          kick();
          let off = 0;
          while (off < chunk.value.length) {
            try {
              off += await file.write(chunk.value.subarray(off));
            } catch (err) {
              await reader.cancel().catch(() => {});
              if (isDiskFull(err)) {
                throw new FetchError(
                  `writing ${part}: the disk is full after ${done + off} bytes` +
                    (total ? ` of ${total}` : "") +
                    `; free space (or set MODEL_CACHE to a larger disk) and rerun to resume`,
                );
              }
              throw err;
            }
          }
          hash.update(chunk.value);
          done += chunk.value.length;
          bar.update(done);
        }
        try {
          await file.sync();
        } catch (err) {
          if (isDiskFull(err)) {
            throw new FetchError(`writing ${part}: the disk is full (${done} bytes written)`);
          }
          // Character devices and some filesystems cannot fsync; the data is written anyway.
          if (!(err instanceof Deno.errors.InvalidData) && !(err instanceof TypeError)) {
            if (!/Invalid argument|os error 22/.test(String(err))) throw err;
          }
        }
      } finally {
        file.close();
      }
    }
    bar.finish(done);

    const size = fileSize(part);
    const wantSize = opts.expectedSize ?? got.linkedSize;
    if (wantSize !== undefined && size !== wantSize) {
      if (size > wantSize) await Deno.remove(part);
      throw new FetchError(
        `GET ${url}: expected ${wantSize} bytes, got ${size}` +
          (size > wantSize ? "; the .part was deleted" : `; kept in ${part}, rerun to resume`),
      );
    }
    const sha256 = hash.digest("hex");
    if (expectedSha && sha256 !== expectedSha) {
      await Deno.remove(part);
      throw new FetchError(
        `GET ${url}: SHA-256 mismatch: expected ${expectedSha} (${
          verifiedBy === "manifest" ? "pinned in the manifest" : "announced by the server"
        }), got ${sha256}; the download was deleted, rerun to fetch it again`,
      );
    }
    await Deno.rename(part, dest);
    return { path: dest, bytes: size, sha256, verifiedBy, resumedFrom };
  } finally {
    clearTimeout(timer);
  }
}
