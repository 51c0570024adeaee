/**
 * The alerts and the autoscaling metric, checked by Prometheus's own tool: `promtool check rules`
 * on the PrometheusRule's groups (deploy/kubernetes/monitoring/), `promtool test rules` on the
 * unit tests in tests/ops/prometheus/ (each alert firing and staying quiet), and Prometheus
 * Adapter's parakeet_stream_load query, filled as the adapter fills it, evaluated on series.
 */
import { assert, assertEquals } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";
import { adapterRules, fillMetricsQuery, K8sObject, kustomize, only } from "./kustomize.ts";

const PROMTOOL = await findTool("promtool", "apt-get install prometheus");
const KUBECTL = await findTool("kubectl", "apt-get install kubernetes-client");
const TESTS = `${ROOT}/tests/ops/prometheus`;

/** A directory holding `rules` (as rulesFile) beside a copy of the unit test `testFile`. */
async function ruleDir(rulesFile: string, rules: unknown, testFile: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parakeet-promtool-" });
  // JSON is YAML: promtool reads it as is.
  Deno.writeTextFileSync(`${dir}/${rulesFile}`, JSON.stringify(rules, null, 2));
  Deno.copyFileSync(`${TESTS}/${testFile}`, `${dir}/${testFile}`);
  return dir;
}

async function promtool(args: string[], cwd: string) {
  const r = await run(PROMTOOL!, args, { cwd });
  return { code: r.code, out: r.stdout + r.stderr };
}

Deno.test({
  name: "promtool checks the PrometheusRule's alerts and passes their unit tests",
  ignore: PROMTOOL === null || KUBECTL === null,
  fn: async () => {
    const rule = only(await kustomize(KUBECTL!, "monitoring"), "PrometheusRule");
    const alerts = rule.spec.groups.flatMap((g: K8sObject) =>
      g.rules.map((r: K8sObject) => r.alert)
    );
    assertEquals(alerts, [
      "ParakeetFleetAtCapacity",
      "ParakeetBatchFailures",
      "ParakeetWorkerRestarts",
      "ParakeetRefusingConnections",
      "ParakeetPartialLatencyHigh",
    ]);
    const dir = await ruleDir("parakeet-server.rules.yaml", rule.spec, "alerts.test.yaml");
    try {
      const check = await promtool(["check", "rules", "parakeet-server.rules.yaml"], dir);
      assertEquals(check.code, 0, check.out);
      assert(check.out.includes(`SUCCESS: ${alerts.length} rules found`), check.out);
      const test = await promtool(["test", "rules", "alerts.test.yaml"], dir);
      assertEquals(test.code, 0, test.out);
      // Every alert is tested, firing at least once.
      const unit = Deno.readTextFileSync(`${TESTS}/alerts.test.yaml`);
      for (const alert of alerts) {
        assert(
          new RegExp(`alertname: ${alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels`).test(unit),
          `${alert} has a test where it fires`,
        );
      }
      // The unit tests can fail: a changed threshold is caught.
      const tighter = structuredClone(rule.spec);
      const latency = tighter.groups[0].rules.find((r: K8sObject) =>
        r.alert === "ParakeetPartialLatencyHigh"
      );
      latency.expr = latency.expr.replace("0.34", "0.6");
      Deno.writeTextFileSync(`${dir}/parakeet-server.rules.yaml`, JSON.stringify(tighter));
      const broken = await promtool(["test", "rules", "alerts.test.yaml"], dir);
      assert(broken.code !== 0, "a changed threshold fails the unit tests");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "Prometheus Adapter's parakeet_stream_load query is open streams ÷ capacity, per pod",
  ignore: PROMTOOL === null,
  fn: async () => {
    const { values } = await adapterRules();
    const [rule] = values;
    assertEquals(rule.seriesQuery, 'parakeet_open_streams{namespace!="",pod!=""}');
    assertEquals(rule.resources.overrides, {
      namespace: { resource: "namespace" },
      pod: { resource: "pod" },
    });
    // What the adapter sends when the HPA asks about pods a and b of namespace parakeet.
    const expr = fillMetricsQuery(rule.metricsQuery, 'namespace="parakeet",pod=~"a|b"', "pod");
    const rules = { groups: [{ name: "adapter", rules: [{ record: rule.name.as, expr }] }] };
    const dir = await ruleDir("stream-load.rules.yaml", rules, "stream_load.test.yaml");
    try {
      const check = await promtool(["check", "rules", "stream-load.rules.yaml"], dir);
      assertEquals(check.code, 0, check.out);
      const test = await promtool(["test", "rules", "stream_load.test.yaml"], dir);
      assertEquals(test.code, 0, test.out);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
