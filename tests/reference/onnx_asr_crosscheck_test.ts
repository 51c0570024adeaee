/**
 * Clips that are not in the repository, made fresh with espeak-ng, transcribed by our
 * `transcribe` and by onnx-asr (an independent Python decoder) from the same model directory:
 * the texts, tokens and timestamps must be identical.
 */
import assert from "node:assert/strict";
import { ROOT, TINY_MODEL } from "../engine/fixtures.ts";
import { run, synthesize } from "./synth.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;

function available(cmd: string, args: string[]): boolean {
  try {
    return new Deno.Command(cmd, { args, stdout: "null", stderr: "null" }).outputSync().success;
  } catch {
    return false;
  }
}

const ready = available(PYTHON, ["-c", "import onnx_asr"]) &&
  available("espeak-ng", ["--version"]) &&
  available("sox", ["--version"]);
if (!ready) {
  console.error(
    "onnx-asr cross-check skipped: needs espeak-ng, sox and .tools/venv-check (bash tests/reference/setup_check_env.sh)",
  );
}

for (const precision of ["fp32", "int8"] as const) {
  Deno.test({
    name: `transcribe (${precision}) equals onnx-asr on fresh espeak-ng clips`,
    ignore: !ready,
    fn: async () => {
      const dir = await Deno.makeTempDir({ prefix: "crosscheck-" });
      try {
        const files = await synthesize(dir, 6, precision === "fp32" ? 7 : 11);
        const extra = precision === "int8" ? ["--int8"] : [];
        const ours = (await run(Deno.execPath(), [
          "run",
          "--allow-all",
          `${ROOT}main.ts`,
          "transcribe",
          "--json",
          "--device",
          "cpu",
          "--model",
          TINY_MODEL,
          ...extra,
          ...files,
        ])).trim().split("\n").map((l) => JSON.parse(l));
        const theirs = (await run(PYTHON, [
          `${ROOT}tests/reference/onnx_asr_transcribe.py`,
          "--model",
          TINY_MODEL,
          ...extra,
          ...files,
        ])).trim().split("\n").map((l) => JSON.parse(l));
        assert.equal(ours.length, files.length);
        for (let i = 0; i < files.length; i++) {
          assert.equal(ours[i].text, theirs[i].text, `clip ${i}: text`);
          assert.deepEqual(ours[i].tokens, theirs[i].tokens, `clip ${i}: tokens`);
          assert.deepEqual(ours[i].timestamps, theirs[i].timestamps, `clip ${i}: timestamps`);
        }
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    },
  });
}
