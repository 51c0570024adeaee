/**
 * Attack harness: every attack of the hostile-input list against a server process, with a
 * well-behaved real-time stream beside them; asserts each attack's expected outcome, that the
 * neighbour's finals are exact and its partial latency p95 within STEP_MS + 100 ms, that RSS
 * and fds return to their baseline, and that the server never exits.
 *
 *   deno run -A bench/attack.ts [--quick] [--set HEADER_TIMEOUT_S=5 ...] [--out FILE.json]
 *
 * Traffic stays on loopback: attackers connect from their own 127.0.x.y source addresses, the
 * neighbour from 127.0.0.1. Exits 1 when any check fails.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { applySettings, defaultKnobs } from "./attack/knobs.ts";
import { runAttacks } from "./attack/run_attacks.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

if (import.meta.main) {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      quick: { type: "boolean", default: false },
      set: { type: "string", multiple: true, default: [] },
      out: { type: "string" },
    },
  });
  const knobs = applySettings(defaultKnobs(values.quick), values.set);
  const report = await runAttacks({ quick: values.quick, knobs });
  const date = new Date().toISOString().slice(0, 16).replace(/[:T]/g, "-");
  const out = values.out ??
    `${ROOT}bench/results/attack-${date}${values.quick ? "-quick" : ""}.json`;
  await Deno.writeTextFile(out, JSON.stringify(report, null, 1) + "\n");
  console.log(JSON.stringify(
    {
      pass: report.pass,
      checks: report.checks,
      failed: report.attacks.filter((a) => !a.pass).map((a) => a.name),
      out,
    },
    null,
    1,
  ));
  if (!report.pass) Deno.exit(1);
}
