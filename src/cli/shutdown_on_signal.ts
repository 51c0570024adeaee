/**
 * How `serve` stops on a signal. SIGTERM (systemd, Kubernetes, docker stop), SIGINT (Ctrl-C)
 * and SIGHUP (the terminal or SSH session went away) all start the same drain: open streams get
 * their finals and a 1001 close, pending HTTP requests an error response. The drain is bounded
 * by SHUTDOWN_TIMEOUT_S from the first signal, whatever it waits on (a client still sending a
 * body, a model call that never returns): then a last-resort timer logs what was still pending
 * and exits with EXIT_DRAIN_TIMED_OUT.
 *
 * A second signal while draining does not cut the drain short: exiting then would drop the
 * finals being flushed, and the drain ends by the deadline anyway. It is logged with the time
 * left and what is still pending. SIGKILL remains for "now".
 */
import type { PendingWork } from "../server/server.ts";

export const SHUTDOWN_SIGNALS = ["SIGTERM", "SIGINT", "SIGHUP"] as const;
export type ShutdownSignal = typeof SHUTDOWN_SIGNALS[number];

/** Every stream got its final and every request its answer before the deadline. */
export const EXIT_DRAINED = 0;
/** The deadline passed first: something was still pending, and was cut off. */
export const EXIT_DRAIN_TIMED_OUT = 1;

export interface ShutdownHooks {
  /** Starts the graceful drain (called once). */
  drain(): void;
  /** What the drain is still waiting for, in words ("2 stream(s)"); empty when nothing. */
  pending(): string[];
  /** Ends the process; not expected to return. */
  exit(code: number): void;
  log(line: string): void;
}

export interface ShutdownTimers {
  setTimeout(fn: () => void, ms: number): number;
  /** The last-resort timer must not be what keeps the process alive. */
  unref(id: number): void;
  clearTimeout(id: number): void;
  now(): number;
}

const realTimers: ShutdownTimers = {
  // Deno's timers are numbers at run time; the Node typings in scope say otherwise.
  setTimeout: (fn, ms) => Number(setTimeout(fn, ms)),
  unref: (id) => Deno.unrefTimer(id),
  clearTimeout: (id) => clearTimeout(id),
  now: () => Date.now(),
};

/** Turns signals into one bounded drain. */
export class ShutdownOnSignal implements Disposable {
  readonly #hooks: ShutdownHooks;
  readonly #timeoutMs: number;
  readonly #timers: ShutdownTimers;
  #deadline: number | null = null;
  #timer: number | undefined;

  constructor(hooks: ShutdownHooks, timeoutMs: number, timers: ShutdownTimers = realTimers) {
    this.#hooks = hooks;
    this.#timeoutMs = timeoutMs;
    this.#timers = timers;
  }

  get draining(): boolean {
    return this.#deadline !== null;
  }

  /** A shutdown signal arrived. */
  receive(signal: ShutdownSignal): void {
    const { log } = this.#hooks;
    if (this.#deadline !== null) {
      const left = Math.max(0, this.#deadline - this.#timers.now());
      log(
        `${signal} received while draining: still draining, exit within ${
          (left / 1000).toFixed(1)
        } s (${this.#describePending()})`,
      );
      return;
    }
    this.#deadline = this.#timers.now() + this.#timeoutMs;
    log(
      `${signal} received: draining (${this.#describePending()}); exit within ${
        this.#timeoutMs / 1000
      } s (SHUTDOWN_TIMEOUT_S)`,
    );
    this.#timer = this.#timers.setTimeout(() => this.#lastResort(), this.#timeoutMs);
    this.#timers.unref(this.#timer);
    this.#hooks.drain();
  }

  #lastResort(): void {
    this.#hooks.log(
      `drain did not finish within ${
        this.#timeoutMs / 1000
      } s (SHUTDOWN_TIMEOUT_S); exiting with ${EXIT_DRAIN_TIMED_OUT}; still pending: ${this.#describePending()}`,
    );
    this.#hooks.exit(EXIT_DRAIN_TIMED_OUT);
  }

  #describePending(): string {
    const pending = this.#hooks.pending();
    return pending.length > 0 ? pending.join(", ") : "nothing pending";
  }

  /**
   * The drain has ended: the exit code it earned. Past the deadline means the server had to cut
   * something off (streams released without their final) even if the timer has not fired yet.
   */
  finish(): number {
    this[Symbol.dispose]();
    if (this.#deadline === null || this.#timers.now() < this.#deadline) return EXIT_DRAINED;
    this.#hooks.log(`drain ended at the SHUTDOWN_TIMEOUT_S deadline: something was cut off`);
    return EXIT_DRAIN_TIMED_OUT;
  }

  [Symbol.dispose](): void {
    if (this.#timer !== undefined) this.#timers.clearTimeout(this.#timer);
    this.#timer = undefined;
  }
}

/** PendingWork in words for the log, zeros left out. */
export function describePendingWork(work: PendingWork): string[] {
  const parts: [number, string][] = [
    [work.streams, "open stream(s)"],
    [work.uploads, "upload(s) transcribing"],
    [work.requests, "HTTP request(s) unanswered"],
    [work.batches, "model batch(es) running"],
  ];
  return parts.filter(([n]) => n > 0).map(([n, what]) => `${n} ${what}`);
}
