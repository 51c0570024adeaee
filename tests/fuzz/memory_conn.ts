/**
 * A `Deno.Conn` in memory for the fuzz tests: reads hand out a fixed input cut at chosen offsets
 * (the same bytes as one segment or many, as TCP may deliver them), writes are collected. The
 * connection layer runs on it unchanged, without a socket. At the end of the input a read sees
 * the end of the stream, or (`holdOpen`) waits, as it would on a client that has sent all it
 * will and still listens, until `hangUp`.
 */
import type { Rng } from "./mutator.ts";

export class MemoryConn {
  readonly localAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.1", port: 8000 };
  readonly remoteAddr: Deno.NetAddr = { transport: "tcp", hostname: "127.0.0.9", port: 40000 };
  readonly #input: Uint8Array;
  /** Sorted offsets where one read stops and the next begins. */
  readonly #cuts: number[];
  #at = 0;
  /** Index of the first cut past `#at`. */
  #nextCut = 0;
  #written: Uint8Array[] = [];
  #closed = false;
  #writeClosed = false;
  readonly #holdOpen: boolean;
  #hungUp = false;
  #parked: PromiseWithResolvers<null> | null = null;

  constructor(input: Uint8Array, cuts: readonly number[] = [], opts: { holdOpen?: boolean } = {}) {
    this.#input = input;
    this.#holdOpen = opts.holdOpen ?? false;
    this.#cuts = [...new Set(cuts)].filter((c) => c > 0 && c < input.length).sort((a, b) => a - b);
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Everything written, in order. */
  get output(): Uint8Array {
    const out = new Uint8Array(this.#written.reduce((n, w) => n + w.length, 0));
    let at = 0;
    for (const w of this.#written) {
      out.set(w, at);
      at += w.length;
    }
    return out;
  }

  /** Bytes of the input read so far. */
  get position(): number {
    return this.#at;
  }

  /** A read is waiting at the end of the input (`holdOpen`). */
  get parked(): boolean {
    return this.#parked !== null;
  }

  /** The client closes its side: a waiting read, and every later one, sees the end. */
  hangUp(): void {
    this.#hungUp = true;
    this.#parked?.resolve(null);
    this.#parked = null;
  }

  async read(p: Uint8Array): Promise<number | null> {
    await Promise.resolve();
    if (this.#closed) throw new Deno.errors.BadResource("the connection is closed");
    if (this.#at >= this.#input.length) {
      if (!this.#holdOpen || this.#hungUp) return null;
      this.#parked = Promise.withResolvers<null>();
      return await this.#parked.promise;
    }
    while (this.#nextCut < this.#cuts.length && this.#cuts[this.#nextCut] <= this.#at) {
      this.#nextCut++;
    }
    const cut = this.#cuts[this.#nextCut] ?? this.#input.length;
    const n = Math.min(p.length, cut - this.#at);
    p.set(this.#input.subarray(this.#at, this.#at + n));
    this.#at += n;
    return n;
  }

  async write(p: Uint8Array): Promise<number> {
    await Promise.resolve();
    if (this.#closed || this.#writeClosed) throw new Deno.errors.BrokenPipe("write after close");
    this.#written.push(p.slice());
    return p.length;
  }

  closeWrite(): Promise<void> {
    this.#writeClosed = true;
    return Promise.resolve();
  }

  close(): void {
    if (this.#closed) throw new Deno.errors.BadResource("already closed");
    this.#closed = true;
    this.#parked?.reject(new Deno.errors.BadResource("the connection is closed"));
    this.#parked = null;
  }

  ref(): void {}
  unref(): void {}

  /** As the layer takes it: only the members above are ever used. */
  asConn(): Deno.Conn {
    return this as unknown as Deno.Conn;
  }
}

/** Up to `max` distinct cut points in (0, length), drawn from `rng`. */
export function randomCuts(rng: Rng, length: number, max = 8): number[] {
  if (length < 2) return [];
  return Array.from({ length: 1 + rng.int(max) }, () => 1 + rng.int(length - 1));
}

/** A cut after every byte: the slowest peer. */
export function everyByte(length: number): number[] {
  return every(1, length);
}

/** A cut every `n` bytes. */
export function every(n: number, length: number): number[] {
  return Array.from({ length: Math.max(0, Math.ceil(length / n) - 1) }, (_, i) => (i + 1) * n);
}
