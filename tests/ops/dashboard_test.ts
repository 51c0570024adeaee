/**
 * deploy/grafana/parakeet-server.json and the alerting and autoscaling queries against a live
 * server: the real server (tiny model, CPU) serves a few streams, then every metric name any
 * dashboard panel, PrometheusRule alert or Prometheus Adapter rule reads must be in its
 * /metrics. promtool parses every panel's query, as Prometheus would.
 */
import { assert, assertEquals } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";
import { adapterRules, fillMetricsQuery, K8sObject, kustomize, only } from "./kustomize.ts";
import { metricNames, scrapedNames } from "./promql_names.ts";
import { startTestServer, streamAudio } from "../server/harness.ts";
import { clipPcmBytes } from "../engine/fixtures.ts";

const KUBECTL = await findTool("kubectl", "apt-get install kubernetes-client");
const PROMTOOL = await findTool("promtool", "apt-get install prometheus");
const DASHBOARD = `${ROOT}/deploy/grafana/parakeet-server.json`;
const CLIPS = ["digits_pi.wav", "seven_eight.wav", "oh_two_zero.wav"];

interface Panel {
  id: number;
  title: string;
  datasource: { type: string; uid: string };
  targets: { refId: string; expr: string }[];
}

function dashboard(): { panels: Panel[]; templating: { list: { query: { query: string } }[] } } {
  return JSON.parse(Deno.readTextFileSync(DASHBOARD));
}

/** Every query the dashboard runs, its variables' queries included, by where it is. */
function dashboardQueries(): [string, string][] {
  const d = dashboard();
  const out: [string, string][] = [];
  for (const p of d.panels) {
    for (const t of p.targets) out.push([`panel ${p.id} "${p.title}" ${t.refId}`, t.expr]);
  }
  for (const v of d.templating.list) {
    // label_values(selector, label) reads the selector's metric.
    const m = v.query.query.match(/^label_values\((.*),\s*\w+\)$/);
    assert(m, `a variable's query: ${v.query.query}`);
    out.push([`variable ${v.query.query}`, m[1]]);
  }
  return out;
}

Deno.test("the dashboard is importable: a Prometheus input, unique panel ids, a query per panel", () => {
  const d = JSON.parse(Deno.readTextFileSync(DASHBOARD));
  assertEquals(d.__inputs.map((i: { name: string }) => i.name), ["DS_PROMETHEUS"]);
  assertEquals(d.uid, "parakeet-server");
  const ids = d.panels.map((p: Panel) => p.id);
  assertEquals(new Set(ids).size, ids.length);
  for (const p of d.panels as Panel[]) {
    assertEquals(p.datasource, { type: "prometheus", uid: "${DS_PROMETHEUS}" }, p.title);
    assert(p.targets.length > 0 && p.targets.every((t) => t.expr.length > 0), p.title);
  }
  const all = dashboardQueries().flatMap(([, e]) => metricNames(e));
  for (const name of ["parakeet_open_streams", "parakeet_capacity_streams"]) {
    assert(all.includes(name), `the dashboard shows ${name}`);
  }
});

Deno.test({
  name: "promtool parses every dashboard query",
  ignore: PROMTOOL === null,
  fn: async () => {
    // Grafana fills $variables before Prometheus sees a query: the same here.
    const rules = dashboardQueries().map(([, expr], i) => ({
      record: `dashboard:query_${i}`,
      expr: expr.replaceAll("$__rate_interval", "1m").replace(/\$\w+/g, ".*"),
    }));
    const dir = await Deno.makeTempDir({ prefix: "parakeet-dashboard-" });
    try {
      Deno.writeTextFileSync(
        `${dir}/dashboard.rules.yaml`,
        JSON.stringify({ groups: [{ name: "dashboard", rules }] }),
      );
      const r = await run(PROMTOOL!, ["check", "rules", `${dir}/dashboard.rules.yaml`]);
      assertEquals(r.code, 0, r.stdout + r.stderr);
      assert(r.stdout.includes(`SUCCESS: ${rules.length} rules found`), r.stdout);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "every metric the dashboard, the alerts and the autoscaling rule read is in a live server's /metrics",
  ignore: KUBECTL === null,
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const rule = only(await kustomize(KUBECTL!, "monitoring"), "PrometheusRule");
    const queries: [string, string][] = [
      ...dashboardQueries(),
      ...rule.spec.groups.flatMap((g: K8sObject) =>
        g.rules.map((r: K8sObject) => [`alert ${r.alert}`, r.expr] as [string, string])
      ),
      ...(await adapterRules()).values.flatMap((r: K8sObject) => [
        [`adapter seriesQuery ${r.name.as}`, r.seriesQuery] as [string, string],
        [`adapter metricsQuery ${r.name.as}`, fillMetricsQuery(r.metricsQuery, "", "pod")] as [
          string,
          string,
        ],
      ]),
    ];

    await using srv = await startTestServer();
    // A few streams, so the series that appear with their first event (step latency by
    // source, batch sizes) are there too.
    const outcomes = await Promise.all(
      CLIPS.map((clip) => streamAudio(srv.url, clipPcmBytes(clip))),
    );
    for (const o of outcomes) {
      assertEquals([o.errors, o.finals.length, o.closeCode], [[], 1, 1000]);
      assert(o.finals[0].length > 0, "the final has the words");
    }
    const scrape = await (await fetch(`${srv.http}/metrics`)).text();
    const exposed = scrapedNames(scrape);
    assert(exposed.has("parakeet_step_latency_seconds_bucket"), scrape);

    const missing: string[] = [];
    let checked = 0;
    for (const [where, expr] of queries) {
      const names = metricNames(expr);
      assert(names.length > 0, `${where} reads no metric: ${expr}`);
      for (const name of names) {
        checked++;
        if (!exposed.has(name)) missing.push(`${name} (${where})`);
      }
    }
    assert(checked >= queries.length, "every query was checked");
    assertEquals(missing, [], `names not in the server's /metrics:\n${missing.join("\n")}`);
  },
});
