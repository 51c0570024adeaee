/**
 * One Deno test per pytest file of a folder, passing only when every one of its tests passed and
 * none was skipped: how the Python checks (NeMo is their reference) run as part of the test
 * command. Run from the repository root with the NeMo venv's Python, so that the `models` (and
 * `lab`) packages import as they do for `python -m`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const ROOT = fileURLToPath(new URL("../../", import.meta.url));

/** The test_*.py files of `dir` (relative to the repository root), sorted. */
export function pytestFiles(dir: string): string[] {
  return [...Deno.readDirSync(`${ROOT}${dir}`)]
    .map((e) => e.name)
    .filter((n) => n.startsWith("test_") && n.endsWith(".py"))
    .sort();
}

/** Registers one Deno test per pytest file of `dir`; ignored (and said so) without the venv. */
export function testEachPytestFile(dir: string): void {
  const have = haveNemoPython("pytest files");
  for (const file of pytestFiles(dir)) {
    Deno.test({
      name: `pytest ${dir}/${file}: every test passes, none skipped`,
      ignore: !have,
      fn: async () => {
        const out = await new Deno.Command(NEMO_PYTHON, {
          args: ["-m", "pytest", "-q", "-p", "no:cacheprovider", "-rs", `${dir}/${file}`],
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
}
