/** The bounded per-address memories behind access control, on a clock the test moves. */
import assert from "node:assert/strict";
import { AccessGate } from "../../src/server/access_gate.ts";
import { loadAccessPolicy } from "../../src/server/auth.ts";
import { AuthFailureLimiter } from "../../src/server/auth_failures.ts";
import { PerClientLogThrottle } from "../../src/server/log_throttle.ts";
import { RecentMap } from "../../src/server/recent_map.ts";

Deno.test("RecentMap keeps the most recently set keys up to its capacity", () => {
  const m = new RecentMap<string, number>(3);
  for (const k of ["a", "b", "c"]) m.set(k, 1);
  m.set("a", 2); // now the newest
  m.set("d", 1); // pushes out b, the oldest
  assert.equal(m.get("b"), undefined);
  assert.equal(m.get("a"), 2);
  assert.equal(m.size, 3);
  for (let i = 0; i < 10_000; i++) m.set(`x${i}`, i);
  assert.equal(m.size, 3, "bounded whatever is thrown at it");
  assert.throws(() => new RecentMap(0), /capacity must be at least 1/);
});

Deno.test("AuthFailureLimiter: N failures in the window, then a wait until the window ends", () => {
  let now = 1_000_000;
  const l = new AuthFailureLimiter(
    { maxFailures: 3, windowMs: 60_000, maxClients: 100 },
    () => now,
  );
  for (let i = 0; i < 3; i++) {
    assert.equal(l.retryAfterS("10.0.0.1"), 0, `attempt ${i + 1} is allowed`);
    l.fail("10.0.0.1");
  }
  assert.equal(l.retryAfterS("10.0.0.1"), 60);
  assert.equal(l.retryAfterS("10.0.0.2"), 0, "another address is not affected");
  now += 59_500;
  assert.equal(l.retryAfterS("10.0.0.1"), 1, "rounded up, never 0 while blocked");
  now += 500;
  assert.equal(l.retryAfterS("10.0.0.1"), 0, "the window is over");
  assert.equal(l.clients, 0, "and forgotten");
});

Deno.test("AuthFailureLimiter: an attacker with many addresses cannot grow its memory", () => {
  const l = new AuthFailureLimiter({ maxFailures: 1, windowMs: 60_000, maxClients: 50 }, () => 0);
  for (let i = 0; i < 100_000; i++) l.fail(`2001:db8::${i.toString(16)}`);
  assert.equal(l.clients, 50);
});

Deno.test("PerClientLogThrottle: one line per address per interval, then the count held back", () => {
  let now = 0;
  const t = new PerClientLogThrottle({ intervalMs: 60_000, maxClients: 10 }, () => now);
  assert.equal(t.admit("a", "first"), "first");
  for (let i = 0; i < 5; i++) assert.equal(t.admit("a", "again"), null);
  assert.equal(t.admit("b", "other address"), "other address");
  now = 60_000;
  assert.equal(
    t.admit("a", "later"),
    "later (5 more from this address not logged since the last line)",
  );
  now = 120_000;
  assert.equal(t.admit("a", "quiet"), "quiet", "nothing held back: no count");
});

Deno.test("AccessGate: origin first, then 429 without comparing, then 401; logged once a minute", () => {
  let now = 0;
  const lines: string[] = [];
  const token = "right-token-123";
  const gate = new AccessGate(
    loadAccessPolicy({ authToken: token, authTokenFile: null, allowedOrigins: null }),
    { maxFailures: 2, log: (l) => lines.push(l), now: () => now },
  );
  const check = (headers: Record<string, string>, client = "192.0.2.7", path = "/v1/status") => {
    const url = new URL(`http://127.0.0.1:8000${path}`);
    return gate.check(
      new Request(url, { headers: { host: "127.0.0.1:8000", ...headers } }),
      url,
      client,
      false,
    );
  };
  assert.equal(check({ authorization: `Bearer ${token}` }), null);
  assert.equal(check({}, "192.0.2.7", "/status"), null, "health checks are open");
  const missing = check({})!;
  assert.equal(missing.status, 401);
  assert.equal(missing.headers.connection, "close");
  assert.equal(gate.failures.clients, 0, "no token is not a guess");
  assert.equal(check({ authorization: "Bearer wrong-1" })?.status, 401);
  assert.equal(check({ authorization: "Bearer wrong-2" })?.status, 401);
  const limited = check({ authorization: `Bearer ${token}` })!;
  assert.equal(limited.status, 429, "even the right token is not compared now");
  assert.equal(limited.headers["retry-after"], "60");
  assert.equal(limited.headers.connection, "close");
  assert.equal(check({ authorization: `Bearer ${token}` }, "192.0.2.8"), null, "other address");
  const foreign = check({ authorization: `Bearer ${token}`, origin: "https://evil.example" })!;
  assert.equal(foreign.status, 403);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.equal(lines[0], "access refused (401): 192.0.2.7 GET /v1/status: no token");
  now = 60_000;
  assert.equal(check({ authorization: `Bearer ${token}` }), null, "the minute is over");
  check({ authorization: "Bearer wrong-3" });
  assert.equal(
    lines[1],
    "access refused (401): 192.0.2.7 GET /v1/status: wrong token (4 more from this address not logged since the last line)",
  );
  for (const line of lines) assert.ok(!line.includes("wrong-") && !line.includes(token));
});
