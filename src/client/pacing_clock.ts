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
  /** Min-heap on dueMs. */
  #heap: Waiter[] = [];
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
    return this.#heap.length;
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
      this.#push({ dueMs, resolve: done });
      this.#arm();
    });
  }

  #tick(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    this.ticks++;
    const now = this.#host.now();
    this.#lastTick = now;
    while (this.#heap.length > 0 && this.#heap[0].dueMs <= now) this.#pop().resolve();
    this.#arm();
  }

  /** Sets the timer for the earliest waiter, no sooner than a quantum after the last tick. */
  #arm(): void {
    if (this.#heap.length === 0) return;
    const at = Math.max(this.#heap[0].dueMs, this.#lastTick + this.quantumMs);
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

  #push(w: Waiter): void {
    const h = this.#heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (h[p].dueMs <= h[i].dueMs) break;
      [h[p], h[i]] = [h[i], h[p]];
      i = p;
    }
  }

  #pop(): Waiter {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && h[l].dueMs < h[m].dueMs) m = l;
        if (r < h.length && h[r].dueMs < h[m].dueMs) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i], h[m]];
        i = m;
      }
    }
    return top;
  }
}

/** The clock every paced send in this process shares unless given its own. */
export const SHARED_PACING_CLOCK = new PacingClock();
