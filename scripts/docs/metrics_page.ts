/**
 * Writes the generated part of docs/metrics.md from the server's metric declarations
 * (src/server/metric_declarations.ts): every metric's name, type, labels with the values they
 * take, and help. The page's own prose, outside the markers, is left as written.
 *
 *   deno run --allow-read --allow-write --allow-run scripts/docs/metrics_page.ts
 *
 * tests/docs/metrics_page_test.ts fails when the committed page differs from what this writes.
 */
import {
  type LabelDeclaration,
  METRIC_DECLARATIONS,
  type MetricDeclaration,
} from "../../src/server/metric_declarations.ts";

export const BEGIN_MARKER = "<!-- generated: metrics (deno task docs) -->";
export const END_MARKER = "<!-- end generated -->";

export const PAGE = new URL("../../docs/metrics.md", import.meta.url);
const ROOT = new URL("../../", import.meta.url);

/** A markdown table cell: pipes escaped, one line. */
function cell(text: string): string {
  return text.replaceAll("|", "\\|").replaceAll("\n", " ");
}

function code(text: string): string {
  return "`" + text + "`";
}

function labelText(label: LabelDeclaration): string {
  const values = Array.isArray(label.values)
    ? (label.values as readonly string[]).map(code).join(", ")
    : (label.values as { open: string }).open;
  return `${code(label.name)}: ${values}`;
}

function labelsCell(m: MetricDeclaration): string {
  const labels = m.labels.map(labelText);
  // A histogram's buckets are the `le` label of its `_bucket` series.
  if (m.buckets) labels.push(`${code("le")}: ${[...m.buckets, "+Inf"].map(String).join(", ")}`);
  return labels.length === 0 ? "—" : labels.join("; ");
}

/** The generated block's content (between the markers): one table row per declared metric. */
export function renderMetricsTable(declarations: readonly MetricDeclaration[]): string {
  const rows = declarations.map((m) =>
    `| ${code(m.name)} | ${m.type} | ${cell(labelsCell(m))} | ${cell(m.help)} |`
  );
  return [
    "| metric | type | labels (the values each takes) | what |",
    "| --- | --- | --- | --- |",
    ...rows,
  ].join("\n");
}

/** `page` with the text between the markers replaced by `block`; the markers must be there. */
export function replaceGeneratedBlock(page: string, block: string): string {
  const begin = page.indexOf(BEGIN_MARKER);
  const end = page.indexOf(END_MARKER);
  if (begin < 0 || end < begin) {
    throw new Error(`the page has no "${BEGIN_MARKER}" … "${END_MARKER}" block`);
  }
  return page.slice(0, begin + BEGIN_MARKER.length) + "\n\n" + block + "\n\n" + page.slice(end);
}

/**
 * Markdown as `deno fmt` writes it under the repository's settings (tables aligned, prose
 * wrapped), so the committed page passes `deno fmt --check` and the comparison is exact.
 */
export async function formatMarkdown(text: string): Promise<string> {
  const fmt = new Deno.Command(Deno.execPath(), {
    args: ["fmt", "--ext=md", "-"],
    cwd: ROOT,
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = fmt.stdin.getWriter();
  await writer.write(new TextEncoder().encode(text));
  await writer.close();
  const out = await fmt.output();
  if (!out.success) throw new Error(`deno fmt failed: ${new TextDecoder().decode(out.stderr)}`);
  return new TextDecoder().decode(out.stdout);
}

/** The page as it should be: its prose as committed, the block from the declarations. */
export async function expectedPage(committed: string): Promise<string> {
  return await formatMarkdown(
    replaceGeneratedBlock(committed, renderMetricsTable(METRIC_DECLARATIONS)),
  );
}

if (import.meta.main) {
  const committed = await Deno.readTextFile(PAGE);
  const page = await expectedPage(committed);
  if (page === committed) {
    console.log("docs/metrics.md is up to date");
  } else {
    await Deno.writeTextFile(PAGE, page);
    console.log("docs/metrics.md rewritten");
  }
}
