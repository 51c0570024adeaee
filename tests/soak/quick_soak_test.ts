/**
 * The quick soak (3 minutes): a real server process under churn, a long session and every
 * hostile client kind, with the targets bench/soak.ts checks. The 60-minute run is by hand:
 * `deno run -A bench/soak.ts --duration 3600`.
 */
import assert from "node:assert/strict";
import { runSoak } from "../../bench/soak.ts";

Deno.test({
  name:
    "quick soak: finals correct, hostile outcomes as named, fds back, RSS bounded, no latency drift",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const report = await runSoak({
      durationS: 180,
      streams: 4,
      sampleEveryS: 3,
      hostileEveryS: 2,
      log: () => {},
    });
    console.log(JSON.stringify({
      targets: report.targets,
      rssSlopeMiBPer10Min: report.rssSlopeMiBPer10Min,
      rssGrowthMiB: report.rssGrowthMiB,
      rssMiB: report.samples.map((s) => s.rssMiB),
      fds: [report.fdsBaseline, report.fdsAfter],
      wellBehaved: report.wellBehaved.streams,
      hostile: Object.fromEntries(Object.entries(report.hostile).map(([k, v]) => [k, v.runs])),
    }));
    assert.ok(report.wellBehaved.streams >= 100, `only ${report.wellBehaved.streams} streams ran`);
    for (const kind of ["oversized", "flood", "malformed", "abrupt", "idle", "deaf"]) {
      assert.ok((report.hostile[kind]?.runs ?? 0) >= 3, `${kind} ran too rarely`);
    }
    assert.deepEqual(report.wellBehaved.wrong, []);
    for (const [kind, h] of Object.entries(report.hostile)) {
      assert.equal(h.asExpected, h.runs, `${kind}: ${JSON.stringify(h.seen)}`);
    }
    assert.equal(report.targets.rssFlat, undefined, "a 3-minute run is not held to a slope");
    for (const [target, ok] of Object.entries(report.targets)) assert.ok(ok, target);
  },
});
