/**
 * The product's Python checks (NeMo is their reference, so they are pytest files in tests/python)
 * run as part of the test command: one Deno test per pytest file, passing only when every one of
 * its tests passed and none was skipped.
 */
import assert from "node:assert/strict";
import { pytestFiles, testEachPytestFile } from "./pytest_files.ts";

Deno.test("tests/python holds pytest files", () => {
  const files = pytestFiles("tests/python");
  assert(files.length >= 3, files.join(", "));
});

testEachPytestFile("tests/python");
