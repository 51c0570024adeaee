import assert from "node:assert/strict";
import { type ClockHost, PacingClock } from "../../src/client/pacing_clock.ts";

/** A clock host whose time moves only when the test advances it. */
class FakeTime implements ClockHost {
  t = 0;
  timers: { at: number; fn: () => void; id: number }[] = [];
  #next = 1;
  now(): number {
    return this.t;
  }
  setTimer(fn: () => void, ms: number): unknown {
    const id = this.#next++;
    this.timers.push({ at: this.t + ms, fn, id });
    return id;
  }
  clearTimer(timer: unknown): void {
    this.timers = this.timers.filter((x) => x.id !== timer);
  }
  /** Moves time to `t`, firing the timers due on the way, in order. */
  async advance(to: number): Promise<void> {
    for (;;) {
      this.timers.sort((a, b) => a.at - b.at);
      const next = this.timers[0];
      if (!next || next.at > to) break;
      this.timers.shift();
      this.t = next.at;
      next.fn();
      await Promise.resolve();
      await Promise.resolve();
    }
    this.t = to;
    await Promise.resolve();
  }
}

function track(clock: PacingClock, time: FakeTime, due: number, released: Map<number, number>) {
  clock.until(due).then(() => released.set(due, time.t));
}

Deno.test("PacingClock releases each wait at or after its time, in one tick per quantum", async () => {
  const time = new FakeTime();
  const clock = new PacingClock(5, time);
  const released = new Map<number, number>();
  // Forty streams' frames, due 0.5 ms apart, as streams opened one after another are.
  const dues = Array.from({ length: 40 }, (_, i) => 10 + i * 0.5);
  for (const due of [...dues].reverse()) track(clock, time, due, released);
  await time.advance(60);
  assert.equal(released.size, 40);
  for (const due of dues) {
    const at = released.get(due)!;
    assert.ok(at >= due, `${due} released early, at ${at}`);
    assert.ok(at - due <= 6, `${due} released ${at - due} ms late`);
  }
  // 20 ms of frames at most one tick every 5 ms (rounded up to whole ms): 5 ticks, not 40.
  assert.ok(clock.ticks <= 5, `${clock.ticks} ticks`);
  assert.equal(clock.pending, 0);
  assert.equal(time.timers.length, 0, "no timer left once nothing waits");
});

Deno.test("PacingClock: a wait already due resolves at once; an earlier one re-arms the timer", async () => {
  const time = new FakeTime();
  time.t = 100;
  const clock = new PacingClock(5, time);
  let now = false;
  await clock.until(100).then(() => now = true);
  assert.ok(now);
  const released = new Map<number, number>();
  track(clock, time, 200, released);
  track(clock, time, 120, released);
  assert.equal(time.timers.length, 1, "one timer for the earliest");
  assert.equal(time.timers[0].at, 120);
  await time.advance(130);
  assert.deepEqual([...released], [[120, 120]]);
  await time.advance(250);
  assert.deepEqual(released.get(200), 200);
});

Deno.test("PacingClock: an abort ends a long wait at once and a short one at its time", async () => {
  const time = new FakeTime();
  const clock = new PacingClock(5, time);
  const ac = new AbortController();
  let long = false;
  clock.until(1_000, ac.signal).then(() => long = true);
  ac.abort();
  await Promise.resolve();
  assert.ok(long, "a wait of a second ends with the abort");
  let aborted = false;
  await clock.until(50, ac.signal).then(() => aborted = true);
  assert.ok(aborted, "an aborted signal does not wait");
  assert.throws(() => new PacingClock(-1, time), RangeError);
  assert.throws(() => new PacingClock(Infinity, time), RangeError);
});
