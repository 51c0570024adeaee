import assert from "node:assert/strict";
import { RateLimitedLog } from "../../src/net/rate_limited_log.ts";

Deno.test("one line per address per minute; held-back lines are counted on the next one", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((l) => lines.push(l), { now: () => now });
  for (let i = 0; i < 1000; i++) log.note("10.0.0.1", "header_timeout");
  log.note("10.0.0.2", "header_timeout");
  assert.deepEqual(lines, ["header_timeout", "header_timeout"]);
  now = 59_999;
  log.note("10.0.0.1", "header_timeout");
  assert.equal(lines.length, 2);
  now = 60_000;
  log.note("10.0.0.1", "header_timeout");
  assert.equal(lines[2], "header_timeout (and 1000 more from 10.0.0.1 in the last minute)");
});

Deno.test("the addresses remembered are bounded; expired ones make room", () => {
  let now = 0;
  const lines: string[] = [];
  const log = new RateLimitedLog((l) => lines.push(l), { now: () => now, maxKeys: 3 });
  for (const a of ["a", "b", "c", "d"]) log.note(a, a);
  assert.deepEqual(lines, ["a", "b", "c"]);
  assert.equal(log.size, 3);
  now = 60_000;
  log.note("d", "d");
  assert.deepEqual(lines, ["a", "b", "c", "d"]);
  assert.ok(log.size <= 3);
});
