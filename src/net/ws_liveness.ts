/**
 * Whether a WebSocket peer is still there: a peer silent for half of `idleTimeoutMs` is pinged;
 * one that sends nothing at all, not even a pong, for `idleTimeoutMs` (+ a grace) is dead.
 */

/**
 * The liveness close comes this long after IDLE_TIMEOUT_S of silence, so that an application
 * timing the same silence itself (WsConnection's 1008 idle_timeout) speaks first.
 */
const LIVENESS_GRACE_MS = 1000;

export interface LivenessActions {
  /** Checks only run while this holds (the socket is open). */
  isOpen(): boolean;
  ping(): void;
  dead(): void;
}

export class Liveness {
  readonly #idleMs: number;
  readonly #actions: LivenessActions;
  #lastHeard = 0;
  #pinged = false;
  #timer?: ReturnType<typeof setInterval>;
  /** When liveness was last checked: a late check means the event loop, not the peer, stalled. */
  #lastCheck = 0;

  constructor(idleTimeoutMs: number, actions: LivenessActions) {
    this.#idleMs = idleTimeoutMs;
    this.#actions = actions;
  }

  start(): void {
    this.#lastHeard = performance.now();
    this.#lastCheck = this.#lastHeard;
    this.#timer = setInterval(() => this.#check(), this.#checkEveryMs);
  }

  stop(): void {
    clearInterval(this.#timer);
  }

  /** Anything arrived from the peer. */
  heard(): void {
    this.#lastHeard = performance.now();
    this.#pinged = false;
  }

  get #checkEveryMs(): number {
    return Math.min(1000, this.#idleMs / 4);
  }

  #check(): void {
    if (!this.#actions.isOpen()) return;
    const now = performance.now();
    const idle = this.#idleMs;
    const late = now - this.#lastCheck > 2 * this.#checkEveryMs;
    this.#lastCheck = now;
    if (late) {
      // The event loop was blocked: what the peer sent meanwhile is still unread, so the stall
      // counts as at most half the silence allowed, never as the peer's.
      this.#lastHeard = Math.max(this.#lastHeard, now - idle / 2);
      return;
    }
    const silent = now - this.#lastHeard;
    if (silent >= idle + LIVENESS_GRACE_MS) {
      this.#actions.dead();
    } else if (silent >= idle / 2 && !this.#pinged) {
      this.#pinged = true;
      this.#actions.ping();
    }
  }
}
