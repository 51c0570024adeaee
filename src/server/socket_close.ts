/**
 * The server's side of a WebSocket close, shared by `/ws` and `/v1/realtime` connections: the
 * close frame after a short linger, and a deadline after which the connection's resources go
 * whether or not the peer answered.
 */

/** What a closing needs of its socket. */
export interface ClosableSocket {
  readonly readyState: number;
  close(code?: number, reason?: string): void;
}

export interface CloseTimings {
  /** Pause between an error message and the close frame that follows it. */
  closeLingerMs: number;
  /** How long the peer has to answer the close frame. */
  closeTimeoutMs: number;
}

export class SocketClose {
  #lingerTimer?: ReturnType<typeof setTimeout>;
  #deadline?: ReturnType<typeof setTimeout>;

  constructor(
    private readonly socket: ClosableSocket,
    private readonly timings: CloseTimings,
  ) {}

  /**
   * Sends the close frame, after the linger while the socket is open, and calls `release` at
   * the deadline. Deno's server drops the TCP connection right after its close frame: a client
   * still sending would get a reset before it could read the close code, so the frame waits a
   * moment after the error message. A peer that never answers leaves the socket CLOSING, where
   * `close` may never fire: hence the deadline.
   */
  start(code: number, reason: string, release: () => void): void {
    const sendClose = () => {
      this.#lingerTimer = undefined;
      try {
        this.socket.close(code, reason);
      } catch {
        // Already closed by the peer.
      }
    };
    if (this.timings.closeLingerMs > 0 && this.socket.readyState === WebSocket.OPEN) {
      this.#lingerTimer = setTimeout(sendClose, this.timings.closeLingerMs);
    } else sendClose();
    this.#deadline = setTimeout(release, this.timings.closeLingerMs + this.timings.closeTimeoutMs);
  }

  /** The connection is released: timers stop, and a close frame still lingering goes now. */
  cancel(): void {
    clearTimeout(this.#deadline);
    if (this.#lingerTimer === undefined) return;
    clearTimeout(this.#lingerTimer);
    this.#lingerTimer = undefined;
    try {
      this.socket.close(1001, "released");
    } catch {
      // Already closed.
    }
  }
}
