import assert from "node:assert/strict";
import { BodyPace } from "../../src/net/body_pace.ts";

Deno.test("a body may pause up to the stall time; after the grace it must keep the minimum pace", () => {
  const pace = new BodyPace(30_000, 4096);
  assert.equal(pace.allowanceMs(), 30_000);
  // One byte every 20 s: each pause is allowed, the average is not.
  pace.record(1, 20_000);
  assert.ok(pace.allowanceMs() > 9_000 && pace.allowanceMs() <= 10_001);
  pace.record(1, 10_000);
  assert.ok(pace.allowanceMs() <= 1);
});

Deno.test("100 MB at 10 kB/s (slower than any real link) is never cut off", () => {
  const pace = new BodyPace(30_000, 4096);
  for (let sent = 0; sent < 100_000_000; sent += 10_000) {
    assert.ok(pace.allowanceMs() >= 1000, `cut off after ${sent} bytes`);
    pace.record(10_000, 1000);
  }
});
