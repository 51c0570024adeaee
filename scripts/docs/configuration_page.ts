/**
 * The knob reference of docs/configuration.md, generated from the server's knob table
 * (src/server/config.ts), so the page cannot drift from what `serve` accepts. The page is
 * hand-written prose around one generated block; `main` rewrites only that block.
 *
 *   deno run --allow-read --allow-write scripts/docs/configuration_page.ts
 */
import { flagName, KNOBS } from "../../src/server/config.ts";

export const PAGE_PATH = "docs/configuration.md";
export const BLOCK_START = "<!-- generated: configuration (deno task docs) -->";
export const BLOCK_END = "<!-- end generated -->";

type KnobRow = (typeof KNOBS)[number];

/** The default as an operator reads it: unset knobs say so instead of printing null. */
function defaultCell(knob: KnobRow): string {
  return knob.default === null ? "unset" : `\`${knob.default}\``;
}

/** What a value must be, as `parseKnob` checks it. */
function acceptsCell(knob: KnobRow): string {
  switch (knob.kind) {
    case "enum":
      return knob.choices!.map((c) => `\`${c}\``).join(", ");
    case "int": {
      const range = `${knob.auto ? "`auto` or " : ""}${knob.min}–${knob.max}`;
      return knob.multipleOf ? `${range}, a multiple of ${knob.multipleOf}` : range;
    }
    case "string":
      return "text";
  }
}

/** A table cell: a literal `|` would end the cell early. */
function escapeCell(text: string): string {
  return text.replaceAll("|", "\\|");
}

/**
 * A markdown table padded the way `deno fmt` lays tables out (every column as wide as its
 * widest cell, dashes under the header), so the generated page passes `deno fmt --check`.
 */
export function markdownTable(header: readonly string[], rows: readonly string[][]): string {
  const cells = [header, ...rows].map((row) => row.map(escapeCell));
  const widths = header.map((_, c) => Math.max(3, ...cells.map((row) => [...row[c]].length)));
  const line = (row: readonly string[]) =>
    "| " + row.map((cell, c) => cell + " ".repeat(widths[c] - [...cell].length)).join(" | ") +
    " |";
  const rule = "| " + widths.map((w) => "-".repeat(w)).join(" | ") + " |";
  return [line(cells[0]), rule, ...cells.slice(1).map(line)].join("\n");
}

/** The generated block's content: one row per knob, in the table's order. */
export function renderKnobTable(knobs: readonly KnobRow[] = KNOBS): string {
  const rows = knobs.map((k) => [
    `\`${k.env}\``,
    `\`${flagName(k)}\``,
    defaultCell(k),
    acceptsCell(k),
    k.help,
  ]);
  return markdownTable(["knob", "flag", "default", "accepts", "meaning"], rows);
}

/** `page` with the text between the markers replaced by `block`. */
export function replaceGeneratedBlock(page: string, block: string): string {
  const start = page.indexOf(BLOCK_START);
  const end = page.indexOf(BLOCK_END);
  if (start < 0 || end < start) {
    throw new Error(`${PAGE_PATH} lacks the markers ${BLOCK_START} … ${BLOCK_END}`);
  }
  const head = page.slice(0, start + BLOCK_START.length);
  return `${head}\n\n${block}\n\n${page.slice(end)}`;
}

/** The page as the code says it should be. */
export function renderPage(page: string): string {
  return replaceGeneratedBlock(page, renderKnobTable());
}

if (import.meta.main) {
  const page = await Deno.readTextFile(PAGE_PATH);
  const next = renderPage(page);
  if (next !== page) await Deno.writeTextFile(PAGE_PATH, next);
  console.log(`${PAGE_PATH}: ${next === page ? "up to date" : "regenerated"}`);
}
