/**
 * The lab's Python checks (the demo model's speech data, weight averaging) run with the lab's
 * tests: one Deno test per pytest file in lab/tests, passing only when every one of its tests
 * passed and none was skipped. The festival voices they hear come from lab/setup.sh.
 */
import assert from "node:assert/strict";
import { pytestFiles, testEachPytestFile } from "../../tests/python/pytest_files.ts";

Deno.test("lab/tests holds pytest files", () => {
  const files = pytestFiles("lab/tests");
  assert(files.length >= 2, files.join(", "));
});

testEachPytestFile("lab/tests");
