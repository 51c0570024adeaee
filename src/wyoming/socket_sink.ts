import type { EventSink } from "./wyoming_connection.ts";

export interface SocketSinkOptions {
  /** Unsent bytes past which the peer counts as not reading: the socket is dropped. */
  maxUnsentBytes: number;
  /** After the last write, how long the peer gets to close its side before the socket goes. */
  lingerMs: number;
}

/**
 * Writes events to a TCP connection in order, one write at a time. `close` is graceful: what
 * is queued is sent, our side is shut (FIN), and the socket closes when the peer closes its
 * side or the linger ends — closing at once while the peer still sends would reset the
 * connection and could lose the last event (an error) before the peer reads it.
 */
export class SocketSink implements EventSink {
  readonly #conn: Deno.Conn;
  readonly #opts: SocketSinkOptions;
  readonly #onOverflow: () => void;
  #queue: Uint8Array[] = [];
  #unsent = 0;
  #writing = false;
  #closing = false;
  #destroyed = false;
  #lingerTimer?: ReturnType<typeof setTimeout>;
  readonly #gone = Promise.withResolvers<void>();

  constructor(conn: Deno.Conn, opts: SocketSinkOptions, onOverflow: () => void) {
    this.#conn = conn;
    this.#opts = opts;
    this.#onOverflow = onOverflow;
  }

  /** Resolves once the socket is closed. */
  get gone(): Promise<void> {
    return this.#gone.promise;
  }

  write(bytes: Uint8Array): void {
    if (this.#closing || this.#destroyed) return;
    this.#queue.push(bytes);
    this.#unsent += bytes.length;
    if (this.#unsent > this.#opts.maxUnsentBytes) {
      this.destroy();
      this.#onOverflow();
      return;
    }
    void this.#pump();
  }

  async #pump(): Promise<void> {
    if (this.#writing) return;
    this.#writing = true;
    try {
      while (this.#queue.length > 0 && !this.#destroyed) {
        const bytes = this.#queue[0];
        for (let at = 0; at < bytes.length;) at += await this.#conn.write(bytes.subarray(at));
        this.#queue.shift();
        this.#unsent -= bytes.length;
      }
    } catch {
      // The peer is gone: nothing more can be sent.
      this.destroy();
    } finally {
      this.#writing = false;
    }
    if (this.#closing) this.#shutWrite();
  }

  close(): void {
    if (this.#closing || this.#destroyed) return;
    this.#closing = true;
    if (!this.#writing) this.#shutWrite();
  }

  #shutWrite(): void {
    if (this.#destroyed || this.#lingerTimer !== undefined) return;
    try {
      this.#conn.closeWrite();
    } catch {
      this.destroy();
      return;
    }
    this.#lingerTimer = setTimeout(() => this.destroy(), this.#opts.lingerMs);
  }

  /** Closes the socket now (also when the peer has closed its side). Idempotent. */
  destroy(): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    this.#queue = [];
    this.#unsent = 0;
    clearTimeout(this.#lingerTimer);
    try {
      this.#conn.close();
    } catch {
      // Already closed.
    }
    this.#gone.resolve();
  }
}
