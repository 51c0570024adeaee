/**
 * A TCP connection to the server from a chosen loopback source address (127.x.y.z). Linux
 * routes all of 127.0.0.0/8 to `lo`, so a client bound to 127.0.3.1 reaches a server listening
 * on 127.0.0.1 and the server sees 127.0.3.1 as the peer: each attack can come from an address
 * of its own, apart from the neighbour's 127.0.0.1, so per-address caps are shown per address.
 * `Deno.connect` cannot choose a source address; `node:net` can (`localAddress`).
 */
import { connect, type Socket } from "node:net";
import type { ByteConn } from "../../tests/server/raw_ws.ts";

/** How long a connect may take on loopback before it counts as refused. */
const CONNECT_TIMEOUT_MS = 3_000;

export class LoopbackSocket implements ByteConn {
  readonly #socket: Socket;
  #chunks: Uint8Array[] = [];
  #wake: (() => void) | null = null;
  #ended = false;
  #closedByUs = false;
  /** performance.now() when the server ended the connection (FIN, reset), else null. */
  peerClosedAt: number | null = null;
  /** Resolves when the connection ends, whoever ended it. */
  readonly ended: Promise<void>;
  #end!: () => void;

  private constructor(socket: Socket) {
    this.#socket = socket;
    this.ended = new Promise((resolve) => (this.#end = resolve));
    socket.on("data", (b: Uint8Array) => {
      this.#chunks.push(new Uint8Array(b));
      this.#notify();
    });
    const finish = () => {
      if (this.#ended) return;
      this.#ended = true;
      if (!this.#closedByUs) this.peerClosedAt = performance.now();
      this.#notify();
      this.#end();
    };
    socket.on("end", finish);
    socket.on("close", finish);
    socket.on("error", finish);
  }

  /** Connects from `source` to 127.0.0.1:`port`; rejects when the connection is refused. */
  static connect(source: string, port: number): Promise<LoopbackSocket> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host: "127.0.0.1", port, localAddress: source });
      const timer = setTimeout(() => {
        socket.destroy();
        reject(new Error(`no connection from ${source} within ${CONNECT_TIMEOUT_MS} ms`));
      }, CONNECT_TIMEOUT_MS);
      socket.once("connect", () => {
        clearTimeout(timer);
        resolve(new LoopbackSocket(socket));
      });
      socket.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
    });
  }

  get isEnded(): boolean {
    return this.#ended;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  /** The next bytes, null once the connection has ended, "timeout" after `timeoutMs`. */
  async next(timeoutMs = Infinity): Promise<Uint8Array | null | "timeout"> {
    if (this.#chunks.length === 0 && !this.#ended) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const timedOut = await new Promise<boolean>((resolve) => {
        this.#wake = () => resolve(false);
        if (Number.isFinite(timeoutMs)) timer = setTimeout(() => resolve(true), timeoutMs);
      });
      clearTimeout(timer);
      if (timedOut) {
        this.#wake = null;
        return "timeout";
      }
    }
    return this.#chunks.shift() ?? null;
  }

  async read(p: Uint8Array): Promise<number | null> {
    const chunk = await this.next();
    if (chunk === null || chunk === "timeout") return null;
    const n = Math.min(p.length, chunk.length);
    p.set(chunk.subarray(0, n));
    if (n < chunk.length) this.#chunks.unshift(chunk.subarray(n));
    return n;
  }

  /** Resolves once the bytes are handed to the kernel; rejects if the connection is gone. */
  write(p: Uint8Array): Promise<number> {
    if (this.#ended) return Promise.reject(new Error("connection ended"));
    return new Promise((resolve, reject) => {
      this.#socket.write(p, (err?: Error | null) => (err ? reject(err) : resolve(p.length)));
    });
  }

  /** Waits up to `timeoutMs` for the server to end the connection; true if it did. */
  async waitForEnd(timeoutMs: number): Promise<boolean> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([this.ended, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
    clearTimeout(timer);
    return this.#ended;
  }

  close(): void {
    if (!this.#ended) this.#closedByUs = true;
    this.#socket.destroy();
  }
}
