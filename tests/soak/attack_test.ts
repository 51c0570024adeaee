/**
 * The quick attack run (under a minute): every attack of bench/attack.ts against a server
 * process with small timeouts, a real-time neighbour beside them. Held to the full
 * expectations: every attack as expected, the neighbour's finals exact and its partial p95
 * within STEP_MS + 100 ms, RSS and fds back to baseline, both servers still running.
 * The full run is by hand: `deno run -A bench/attack.ts`.
 */
import assert from "node:assert/strict";
import { defaultKnobs } from "../../bench/attack/knobs.ts";
import { PHASES, runAttacks } from "../../bench/attack/run_attacks.ts";

/** The quick run's own budget: it must stay usable as a test. */
const QUICK_BUDGET_S = 60;

Deno.test({
  name:
    "bench/attack.ts --quick: every attack as expected, the neighbour exact and on time, RSS and fds back, the servers alive",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const report = await runAttacks({ quick: true, knobs: defaultKnobs(true), log: () => {} });
    console.log(JSON.stringify(
      {
        checks: report.checks,
        durationS: report.durationS,
        attacks: report.attacks.map((a) => `${a.pass ? "pass" : "FAIL"} ${a.name}: ${a.failure}`),
        neighbour: {
          utterances: report.neighbour.utterances,
          p95: report.neighbour.partialLatencyMs.p95,
          connections: report.neighbour.connections,
        },
        server: report.server,
      },
      null,
      1,
    ));
    // The harness ran every attack once and reported each fully.
    const names = PHASES.flat().map((a) => a.name);
    assert.deepEqual(report.attacks.map((a) => a.name).sort(), [...names].sort());
    for (const a of report.attacks) {
      assert.ok(a.sent && a.expected, `${a.name} says what it sent and expected`);
      assert.ok(a.before.fds > 0 && a.before.rssMiB > 0, `${a.name} read the server's stats`);
    }
    assert.ok(report.durationS <= QUICK_BUDGET_S, `the quick run took ${report.durationS} s`);
    assert.ok(report.neighbour.reference, "the clip streamed alone has a final");

    // The expectations themselves.
    const failed = report.attacks.filter((a) => !a.pass).map((a) => `${a.name}: ${a.failure}`);
    assert.deepEqual(failed, [], "attacks not answered as expected");
    assert.deepEqual(
      report.neighbour.wrong,
      [],
      "the neighbour's finals differ from the clip alone",
    );
    for (const [check, ok] of Object.entries(report.checks)) assert.ok(ok, check);
    assert.ok(report.pass);
  },
});
