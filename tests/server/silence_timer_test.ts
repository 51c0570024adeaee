/** The peer's silence (src/server/connection_watch.ts SilenceTimer), on real timers. */
import assert from "node:assert/strict";
import { SilenceTimer } from "../../src/server/connection_watch.ts";

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

Deno.test("silence: activity keeps moving the deadline; silence comes one delay after the last", async () => {
  let silentAt: number | null = null;
  const timer = new SilenceTimer(() => (silentAt = performance.now()));
  const t0 = performance.now();
  timer.arm(250);
  // Activity every 10 ms for 600 ms: never 250 ms of silence (slack for a loaded machine).
  let last = t0;
  while (performance.now() - t0 < 600) {
    await sleep(10);
    timer.arm(250);
    last = performance.now();
  }
  assert.equal(silentAt, null, "no silence while the peer is active");
  await sleep(700);
  assert.ok(silentAt !== null, "silence after the activity stopped");
  const after = silentAt! - last;
  assert.ok(after >= 249 && after < 650, `silent ${after} ms after the last activity`);
  timer.clear();
});

Deno.test("silence: a sooner deadline is kept; after() replaces the wait; clear() ends it", async () => {
  let silences = 0;
  const timer = new SilenceTimer(() => silences++);
  const t0 = performance.now();
  timer.arm(5000);
  timer.arm(30);
  await sleep(120);
  assert.equal(silences, 1, `the 30 ms deadline held (${performance.now() - t0} ms)`);
  let ran = false;
  timer.arm(30);
  timer.after(60, () => (ran = true));
  await sleep(120);
  assert.equal(silences, 1, "after() replaced the silence wait");
  assert.ok(ran);
  timer.arm(30);
  timer.clear();
  await sleep(80);
  assert.equal(silences, 1, "clear() ended the wait");
  // Armed again after after(): the silence wait is back.
  timer.after(1000, () => assert.fail("replaced by arm"));
  timer.arm(20);
  await sleep(80);
  assert.equal(silences, 2);
  timer.clear();
});
