/**
 * Byte-level chores on a raw `Deno.Conn` shared by the HTTP layer: writing everything, bounding a
 * write in time, closing without throwing, and lingering so a refused client reads our answer.
 */

/** Time a refused or finished connection is read and drained so the client sees our answer. */
export const LINGER_MS = 500;
const LINGER_BYTES = 1024 * 1024;

export async function writeAll(conn: Deno.Conn, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await conn.write(bytes.subarray(off));
}

/** Runs `p`, closing `conn` if it takes longer than `ms` (which ends `p` with an error). */
export async function withDeadline<T>(p: Promise<T>, ms: number, conn: Deno.Conn): Promise<T> {
  const timer = setTimeout(() => safeClose(conn), ms);
  try {
    return await p;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Closing a socket with unread input sends a reset, which can destroy our answer before the
 * client reads it. So: end our side, read and drop what the client still sends, for a short
 * bounded time, then close.
 */
export async function linger(conn: Deno.Conn): Promise<void> {
  try {
    await conn.closeWrite();
  } catch {
    return;
  }
  const timer = setTimeout(() => safeClose(conn), LINGER_MS);
  try {
    const scratch = new Uint8Array(16 * 1024);
    let total = 0;
    while (total < LINGER_BYTES) {
      const n = await conn.read(scratch);
      if (n === null) break;
      total += n;
    }
  } catch {
    // closed by the timer
  } finally {
    clearTimeout(timer);
  }
}

export function safeClose(conn: Deno.Conn): void {
  try {
    conn.close();
  } catch {
    // already closed
  }
}

export function concatTwo(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}
