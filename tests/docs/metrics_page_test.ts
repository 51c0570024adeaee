/**
 * docs/metrics.md against the code: its generated table is what scripts/docs/metrics_page.ts
 * writes from the declarations, and every metric a live server exposes is declared (with its
 * type, its labels and their values).
 */
import assert from "node:assert/strict";
import {
  BEGIN_MARKER,
  END_MARKER,
  expectedPage,
  PAGE,
  renderMetricsTable,
  replaceGeneratedBlock,
} from "../../scripts/docs/metrics_page.ts";
import {
  METRIC_DECLARATIONS,
  type MetricDeclaration,
} from "../../src/server/metric_declarations.ts";
import { startTestServer } from "../server/harness.ts";

Deno.test("docs/metrics.md is what scripts/docs/metrics_page.ts generates from the declarations", async () => {
  const committed = await Deno.readTextFile(PAGE);
  assert.equal(
    committed,
    await expectedPage(committed),
    "docs/metrics.md is stale: run deno run --allow-read --allow-write --allow-run scripts/docs/metrics_page.ts",
  );
  for (const m of METRIC_DECLARATIONS) assert.ok(committed.includes(`\`${m.name}\``), m.name);
});

Deno.test("the generated block replaces only what is between the markers", () => {
  const block = renderMetricsTable(METRIC_DECLARATIONS.slice(0, 1));
  const page = replaceGeneratedBlock(`intro\n${BEGIN_MARKER}\nold\n${END_MARKER}\noutro\n`, block);
  assert.equal(page, `intro\n${BEGIN_MARKER}\n\n${block}\n\n${END_MARKER}\noutro\n`);
  assert.match(block, /\| `parakeet_model_info` \| gauge \| `model`: the model directory's name;/);
  assert.throws(() => replaceGeneratedBlock("no markers", block), /has no/);
});

/** `name{a="x",b="y"} 1` → the family's name, the sample's suffix and its labels. */
function parseSample(line: string, families: Map<string, MetricDeclaration>) {
  const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? \S+$/.exec(line);
  assert.ok(m, `not a sample line: ${line}`);
  const name = m[1];
  const labels: Record<string, string> = {};
  for (const [, k, v] of (m[2] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
    labels[k] = v;
  }
  const family = families.has(name) ? name : name.replace(/_(bucket|sum|count)$/, "");
  return { family, suffix: name.slice(family.length), labels };
}

Deno.test("every metric a live server exposes is declared, with its type, labels and values", async () => {
  await using srv = await startTestServer();
  const text = await (await fetch(`${srv.http}/metrics`)).text();
  const declared = new Map(METRIC_DECLARATIONS.map((m) => [m.name, m]));
  const types = new Map<string, string>();
  for (const [, name, type] of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) types.set(name, type);
  for (const [name, type] of types) {
    assert.equal(declared.get(name)?.type, type, `${name} (${type}) is not declared as such`);
  }
  assert.deepEqual([...types.keys()], [...declared.keys()], "declared and exposed, in order");
  for (const line of text.split("\n")) {
    if (line === "" || line.startsWith("#")) continue;
    const { family, suffix, labels } = parseSample(line, declared);
    const d = declared.get(family);
    assert.ok(d, `${line}: no declaration`);
    const names = d.labels.map((l) => l.name);
    if (suffix === "_bucket") names.push("le");
    assert.deepEqual(Object.keys(labels), names, line);
    for (const l of d.labels) {
      if (Array.isArray(l.values)) {
        assert.ok((l.values as readonly string[]).includes(labels[l.name]), `${line}: ${l.name}`);
      }
    }
  }
});
