/**
 * Two watches every streaming connection keeps on its peer (`/ws` and `/v1/realtime`): its
 * silence, which must never be confused with a stall of the server's own event loop, and a
 * reader that stops reading while the server has something to send.
 */

import type { ServerConfig } from "./config.ts";

/**
 * Time between an error message and the close frame after it: enough for a client that stops
 * sending on an error to have stopped, so the close code is not lost to a TCP reset.
 */
const CLOSE_LINGER_MS = 250;

/** The limits a streaming connection (`/ws`, `/v1/realtime`) lives under, from the knobs. */
export function streamConnectionLimits(config: ServerConfig) {
  return {
    maxMessagesPerS: config.maxMessagesPerS,
    idleTimeoutMs: config.idleTimeoutS * 1000,
    sessionMaxMs: config.sessionMaxS * 1000,
    slowConsumerBytes: config.slowConsumerBytes,
    slowConsumerMs: config.slowConsumerS * 1000,
    closeTimeoutMs: config.closeTimeoutS * 1000,
    closeLingerMs: CLOSE_LINGER_MS,
  };
}

/** A timer that fires this much late means the event loop itself was blocked. */
const STALL_SLACK_MS = 1000;
/** After such a stall, the peer gets this long for audio already sent to be read. */
const STALL_GRACE_MS = 1000;

/**
 * The peer's silence: `onSilence` once no activity came for the armed delay. Activity only
 * moves a deadline; the one timer, when it fires early for it, waits out the rest. (Re-arming a
 * timer per audio frame cost the event loop a timer cancelled and one created 50 times a
 * second per stream.)
 */
export class SilenceTimer {
  #timer?: ReturnType<typeof setTimeout>;
  /** When the running timer fires, and whether it is the silence wait (not `after`'s). */
  #timerDue = 0;
  #waiting = false;
  /** When the peer counts as silent. */
  #deadline = 0;

  constructor(private readonly onSilence: () => void) {}

  /** (Re)starts the wait: activity from the peer calls this. */
  arm(delayMs: number): void {
    this.#deadline = performance.now() + delayMs;
    // The running wait looks again when it fires; only a sooner deadline needs a new timer.
    if (this.#waiting && this.#timerDue <= this.#deadline) return;
    this.#wait(delayMs);
  }

  #wait(delayMs: number): void {
    clearTimeout(this.#timer);
    const due = performance.now() + delayMs;
    this.#timerDue = due;
    this.#waiting = true;
    this.#timer = setTimeout(() => {
      this.#waiting = false;
      const now = performance.now();
      // Fired late: the event loop was blocked, and audio the client sent meanwhile may still be
      // unread. A stall of the server's own is never the client's silence: look again shortly.
      if (now - due > STALL_SLACK_MS) {
        this.#deadline = Math.max(this.#deadline, now + STALL_GRACE_MS);
      }
      if (now < this.#deadline) this.#wait(this.#deadline - now);
      else this.onSilence();
    }, delayMs);
  }

  /** Replaces the wait with a plain deadline (e.g. for a final after the silence). */
  after(delayMs: number, fn: () => void): void {
    clearTimeout(this.#timer);
    this.#waiting = false;
    this.#timer = setTimeout(fn, delayMs);
  }

  clear(): void {
    clearTimeout(this.#timer);
    this.#waiting = false;
  }
}

export interface SlowConsumerLimits {
  /** Unsent bytes above which the reader counts as slow. */
  slowConsumerBytes: number;
  /** How long it may stay slow. */
  slowConsumerMs: number;
}

/** A reader over `slowConsumerBytes` unsent for `slowConsumerMs`: `onSlow` with the reason. */
export class SlowConsumerWatch {
  #since: number | null = null;
  #timer?: ReturnType<typeof setInterval>;

  constructor(
    private readonly socket: { readonly bufferedAmount: number },
    private readonly limits: SlowConsumerLimits,
    private readonly onSlow: (message: string) => void,
  ) {}

  /** Before a send: true when the reader is behind (the watch then runs). */
  behind(): boolean {
    if (this.socket.bufferedAmount <= this.limits.slowConsumerBytes) {
      this.#since = null;
      return false;
    }
    if (this.#since !== null) return true;
    this.#since = Date.now();
    // Checked on a timer, not only on sends: a stalled reader may get nothing more to send.
    this.#timer ??= setInterval(() => {
      if (this.#since === null) return;
      if (this.socket.bufferedAmount <= this.limits.slowConsumerBytes) {
        this.#since = null;
      } else if (Date.now() - this.#since >= this.limits.slowConsumerMs) {
        this.onSlow(
          `Closing: ${this.socket.bufferedAmount} bytes unread for over ${
            this.limits.slowConsumerMs / 1000
          } s`,
        );
      }
    }, Math.min(1000, this.limits.slowConsumerMs));
    return true;
  }

  stop(): void {
    clearInterval(this.#timer);
  }
}
