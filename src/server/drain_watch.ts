/**
 * The server's drain as one request sees it. The server's signal lives as long as the server,
 * so a request must not leave a listener on it: this attaches one, forwards the abort to a
 * signal of the request's own (for timers, child processes, sessions) and detaches on dispose.
 */
export const DRAINED = Symbol("drained");

export class DrainWatch implements Disposable {
  readonly #own = new AbortController();
  readonly #server: AbortSignal | undefined;
  readonly #forward = () => this.#own.abort();
  /** Settles with DRAINED when the drain starts; never, if it does not. */
  readonly drained: Promise<typeof DRAINED>;

  constructor(server: AbortSignal | undefined) {
    this.#server = server;
    this.drained = new Promise((resolve) => {
      this.#own.signal.addEventListener("abort", () => resolve(DRAINED), { once: true });
    });
    if (server?.aborted) this.#own.abort();
    else server?.addEventListener("abort", this.#forward, { once: true });
  }

  /** Aborted when the drain starts. */
  get signal(): AbortSignal {
    return this.#own.signal;
  }

  [Symbol.dispose](): void {
    this.#server?.removeEventListener("abort", this.#forward);
  }
}
