/**
 * Clips that are not in the repository, made fresh with espeak-ng, transcribed by our
 * `transcribe` and by onnx-asr (an independent Python decoder) from the same model directory:
 * the texts, tokens and timestamps must be identical.
 */
import assert from "node:assert/strict";
import { ROOT, TINY_MODEL } from "../engine/fixtures.ts";

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

const WORDS = [
  "zero",
  "one",
  "two",
  "three",
  "four",
  "five",
  "six",
  "seven",
  "eight",
  "nine",
  "oh",
];
const VOICES = ["en-us", "en+m4", "en-gb-scotland", "en+f3", "en-us+m2", "en+klatt"];

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const err = new TextDecoder().decode(out.stderr);
  if (!out.success) throw new Error(`${cmd} ${args.join(" ")} failed: ${err}`);
  return new TextDecoder().decode(out.stdout);
}

/** Fresh 16 kHz clips: a seeded mix of words, voices and speeds. */
async function synthesize(dir: string, count: number, seed: number): Promise<string[]> {
  let s = seed;
  const next = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const files: string[] = [];
  for (let i = 0; i < count; i++) {
    const n = 2 + Math.floor(next() * 5);
    const text = Array.from({ length: n }, () => WORDS[Math.floor(next() * WORDS.length)]).join(
      " ",
    );
    const voice = VOICES[Math.floor(next() * VOICES.length)];
    const speed = 120 + Math.floor(next() * 80);
    const raw = `${dir}/raw${i}.wav`;
    const wav = `${dir}/clip${i}.wav`;
    await run("espeak-ng", ["-v", voice, "-s", String(speed), "-w", raw, text]);
    await run("sox", [raw, "-r", "16000", "-c", "1", "-b", "16", wav]);
    files.push(wav);
  }
  return files;
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
