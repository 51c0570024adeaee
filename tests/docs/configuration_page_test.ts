import assert from "node:assert/strict";
import {
  BLOCK_END,
  BLOCK_START,
  markdownTable,
  PAGE_PATH,
  renderKnobTable,
  renderPage,
  replaceGeneratedBlock,
} from "../../scripts/docs/configuration_page.ts";
import { flagName, KNOBS } from "../../src/server/config.ts";

const root = new URL("../../", import.meta.url);
const page = () => Deno.readTextFileSync(new URL(PAGE_PATH, root));

Deno.test("docs/configuration.md is what the knob table generates (run `deno task docs`)", () => {
  const committed = page();
  assert.equal(committed, renderPage(committed));
});

Deno.test("every knob, its flag and its description appear in docs/configuration.md", () => {
  const committed = page();
  const block = committed.slice(committed.indexOf(BLOCK_START), committed.indexOf(BLOCK_END));
  for (const knob of KNOBS) {
    assert.ok(block.includes(`| \`${knob.env}\``), knob.env);
    assert.ok(block.includes(`\`${flagName(knob)}\``), flagName(knob));
    assert.ok(block.includes(knob.help), knob.help);
  }
});

Deno.test("the generated table has one row per knob, in the table's order", () => {
  const lines = renderKnobTable().split("\n");
  assert.equal(lines.length, KNOBS.length + 2);
  KNOBS.forEach((knob, i) => assert.ok(lines[i + 2].startsWith(`| \`${knob.env}\``)));
});

Deno.test("a table cell's pipe is escaped and columns are padded to the widest cell", () => {
  assert.equal(
    markdownTable(["a", "bb"], [["x|y", "z"]]),
    ["| a    | bb  |", "| ---- | --- |", "| x\\|y | z   |"].join("\n"),
  );
});

Deno.test("only the generated block is replaced; a page without markers is refused", () => {
  const before = `intro\n\n${BLOCK_START}\nold\n${BLOCK_END}\n\noutro\n`;
  assert.equal(
    replaceGeneratedBlock(before, "new"),
    `intro\n\n${BLOCK_START}\n\nnew\n\n${BLOCK_END}\n\noutro\n`,
  );
  assert.throws(() => replaceGeneratedBlock("no markers", "new"), /lacks the markers/);
});
