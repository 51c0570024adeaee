/**
 * One timer for every paced sender in a process. A load of N streams at 20 ms frames is 50·N
 * frames a second; a timer per frame costs the client process more CPU than the sends
 * themselves, and on a machine the server shares that CPU is taken from the server being
 * measured. The clock wakes at most once a `quantumMs` and releases every frame that is due by
 * then, so a frame goes out at or after its time, never before, and at most a quantum late.
 */

/** The timer functions the clock uses: the host's by default, a fake one in tests. */
export interface ClockHost {
  now(): number;
  setTimer(fn: () => void, ms: number): unknown;
  clearTimer(timer: unknown): void;
}

const HOST: ClockHost = {
  now: () => performance.now(),
  setTimer: (fn, ms) => setTimeout(fn, ms),
  clearTimer: (timer) => clearTimeout(timer as ReturnType<typeof setTimeout>),
};

interface Waiter {
  dueMs: number;
  resolve: () => void;
}

/** Past this wait, an abort ends it at once instead of at its due time. */
const ABORT_LISTEN_MS = 100;

export class PacingClock {
  readonly quantumMs: number;
  #host: ClockHost;
  /** Unordered: one frame a stream waits at a time, so a tick scans a few dozen at most. */
  #waiting: Waiter[] = [];
  #timer: unknown = null;
  #timerAt = Infinity;
  #lastTick = -Infinity;
  /** Timer firings so far (what the quantum bounds). */
  ticks = 0;

  constructor(quantumMs = 5, host: ClockHost = HOST) {
    if (!(quantumMs >= 0 && Number.isFinite(quantumMs))) {
      throw new RangeError(
        `the pacing quantum must be a finite number of ms ≥ 0, got ${quantumMs}`,
      );
    }
    this.quantumMs = quantumMs;
    this.#host = host;
  }

  /** Waiters not yet released. */
  get pending(): number {
    return this.#waiting.length;
  }

  /**
   * Resolves once `dueMs` (performance.now() time) has passed, at the first tick after it; at
   * once when it has passed already or `signal` is aborted. A long wait also ends on an abort.
   */
  until(dueMs: number, signal?: AbortSignal): Promise<void> {
    if (signal?.aborted || dueMs <= this.#host.now()) return Promise.resolve();
    return new Promise((resolve) => {
      let done = resolve;
      if (signal && dueMs - this.#host.now() > ABORT_LISTEN_MS) {
        const onAbort = () => resolve();
        signal.addEventListener("abort", onAbort, { once: true });
        done = () => {
          signal.removeEventListener("abort", onAbort);
          resolve();
        };
      }
      this.#waiting.push({ dueMs, resolve: done });
      this.#arm(dueMs);
    });
  }

  #tick(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    this.ticks++;
    const now = this.#host.now();
    this.#lastTick = now;
    const due = this.#waiting.filter((w) => w.dueMs <= now);
    this.#waiting = this.#waiting.filter((w) => w.dueMs > now);
    for (const w of due) w.resolve();
    if (this.#waiting.length > 0) {
      this.#arm(this.#waiting.reduce((t, w) => Math.min(t, w.dueMs), Infinity));
    }
  }

  /** Sets the timer for `dueMs` unless it fires sooner, no sooner than a quantum after a tick. */
  #arm(dueMs: number): void {
    const at = Math.max(dueMs, this.#lastTick + this.quantumMs);
    if (this.#timer !== null) {
      if (this.#timerAt <= at) return;
      this.#host.clearTimer(this.#timer);
    }
    this.#timerAt = at;
    // Rounded up: a timer of whole milliseconds must not fire before the frame is due.
    this.#timer = this.#host.setTimer(
      () => this.#tick(),
      Math.max(0, Math.ceil(at - this.#host.now())),
    );
  }
}

/** The clock every paced send in this process shares unless given its own. */
export const SHARED_PACING_CLOCK = new PacingClock();
