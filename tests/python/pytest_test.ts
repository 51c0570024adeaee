/**
 * The Python checks (NeMo is their reference, so they are pytest files in tests/python) run as
 * part of the test command: one Deno test per pytest file, passing only when every one of its
 * tests passed and none was skipped.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));
const PY = NEMO_PYTHON;
const HAVE = haveNemoPython("pytest files");

const FILES = [...Deno.readDirSync(`${ROOT}tests/python`)]
  .map((e) => e.name)
  .filter((n) => n.startsWith("test_") && n.endsWith(".py"))
  .sort();

Deno.test("tests/python holds pytest files", () => {
  assert(FILES.length >= 3, FILES.join(", "));
});

for (const file of FILES) {
  Deno.test({
    name: `pytest tests/python/${file}: every test passes, none skipped`,
    ignore: !HAVE,
    fn: async () => {
      const out = await new Deno.Command(PY, {
        args: ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", `tests/python/${file}`],
        cwd: ROOT,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
      const summary = text.trim().split("\n").at(-1) ?? "";
      assert.equal(out.code, 0, text.slice(-4000));
      assert(/\d+ passed/.test(summary), summary);
      assert(!/skipped|xfail|error/.test(summary), summary);
    },
  });
}
