import assert from "node:assert/strict";
import {
  describePendingWork,
  EXIT_DRAIN_TIMED_OUT,
  EXIT_DRAINED,
  ShutdownOnSignal,
  type ShutdownTimers,
} from "../../src/cli/shutdown_on_signal.ts";

/** Timers on a clock the test moves. */
function fakeTimers() {
  let now = 0;
  let next = 1;
  const due = new Map<number, { at: number; fn: () => void }>();
  const unrefed = new Set<number>();
  const timers: ShutdownTimers = {
    setTimeout: (fn, ms) => {
      due.set(next, { at: now + ms, fn });
      return next++;
    },
    unref: (id) => unrefed.add(id),
    clearTimeout: (id) => due.delete(id),
    now: () => now,
  };
  return {
    timers,
    unrefed,
    pending: () => due.size,
    /** Moves the clock without running timers: a timer late on a loaded machine. */
    lateBy(ms: number) {
      now += ms;
    },
    advance(ms: number) {
      now += ms;
      for (const [id, t] of [...due]) {
        if (t.at <= now) {
          due.delete(id);
          t.fn();
        }
      }
    },
  };
}

function setUp(pending: string[] = ["2 open stream(s)"]) {
  const clock = fakeTimers();
  const calls = { drain: 0, exits: [] as number[], log: [] as string[] };
  const shutdown = new ShutdownOnSignal(
    {
      drain: () => calls.drain++,
      pending: () => pending,
      exit: (code) => calls.exits.push(code),
      log: (line) => calls.log.push(line),
    },
    3000,
    clock.timers,
  );
  return { clock, calls, shutdown };
}

Deno.test("ShutdownOnSignal: the first signal drains once and arms an unref'd last-resort timer", () => {
  const { clock, calls, shutdown } = setUp();
  shutdown.receive("SIGHUP");
  assert.equal(calls.drain, 1);
  assert.equal(clock.pending(), 1);
  assert.equal(clock.unrefed.size, 1, "the timer must not keep the process alive");
  assert.match(calls.log[0], /^SIGHUP received: draining \(2 open stream\(s\)\); exit within 3 s/);
});

Deno.test("ShutdownOnSignal: a second signal while draining is logged and changes nothing", () => {
  const { clock, calls, shutdown } = setUp();
  shutdown.receive("SIGTERM");
  clock.advance(1000);
  shutdown.receive("SIGINT");
  assert.equal(calls.drain, 1);
  assert.deepEqual(calls.exits, []);
  assert.match(calls.log[1], /^SIGINT received while draining: still draining, exit within 2\.0 s/);
  clock.advance(1999);
  assert.deepEqual(calls.exits, [], "the deadline is from the first signal, not moved");
  clock.advance(1);
  assert.deepEqual(calls.exits, [EXIT_DRAIN_TIMED_OUT]);
});

Deno.test("ShutdownOnSignal: the last-resort timer logs what was pending and exits 1", () => {
  const { clock, calls, shutdown } = setUp(["1 HTTP request(s) unanswered"]);
  shutdown.receive("SIGTERM");
  clock.advance(3000);
  assert.deepEqual(calls.exits, [EXIT_DRAIN_TIMED_OUT]);
  assert.match(
    calls.log.at(-1)!,
    /drain did not finish within 3 s \(SHUTDOWN_TIMEOUT_S\); exiting with 1; still pending: 1 HTTP request\(s\) unanswered/,
  );
});

Deno.test("ShutdownOnSignal.finish: 0 before the deadline (timer cleared), 1 at or past it", () => {
  const early = setUp();
  early.shutdown.receive("SIGTERM");
  early.clock.advance(2999);
  assert.equal(early.shutdown.finish(), EXIT_DRAINED);
  assert.equal(early.clock.pending(), 0);
  early.clock.advance(10_000);
  assert.deepEqual(early.calls.exits, [], "a finished drain is never cut off");

  // The server cut its streams off at the deadline and finished before the timer ran.
  const late = setUp();
  late.shutdown.receive("SIGTERM");
  late.clock.lateBy(3000);
  assert.equal(late.shutdown.finish(), EXIT_DRAIN_TIMED_OUT);
  assert.match(late.calls.log.at(-1)!, /drain ended at the SHUTDOWN_TIMEOUT_S deadline/);

  const never = setUp();
  assert.equal(never.shutdown.finish(), EXIT_DRAINED, "no signal: a normal end");
});

Deno.test("describePendingWork names what is pending and leaves zeros out", () => {
  assert.deepEqual(describePendingWork({ streams: 0, uploads: 0, requests: 0, batches: 0 }), []);
  assert.deepEqual(describePendingWork({ streams: 2, uploads: 0, requests: 1, batches: 3 }), [
    "2 open stream(s)",
    "1 HTTP request(s) unanswered",
    "3 model batch(es) running",
  ]);
});
