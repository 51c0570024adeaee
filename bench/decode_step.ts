/**
 * Greedy TDT decoding, host path against resident decode step (one fused run a call) and against
 * that step as a chain of three runs, side by side in one process on a joint with
 * Parakeet-TDT-0.6B-v3's full output width (8,193 tokens + 5 durations = 8,198 logits per row):
 * the model directory of tests/model/make_v3_signature.py, built into a temporary directory
 * unless one is given. For batches of 1, 8 and 32 rows of seeded random encoder frames, the
 * paths decode the same rows in rotation (so machine load hits them alike), must agree token for
 * token, and are timed; the bytes crossing between TypeScript and ONNX Runtime are read from
 * ffi's transfer counters.
 *
 *   deno run -A bench/decode_step.ts [--model DIR] [--frames 60] [--seconds 3] [--out FILE]
 *
 * Writes bench/results/decode_step.json (or --out) and prints it.
 */
import { parseArgs } from "node:util";
import { OrtRuntime } from "../ffi/mod.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";
import { describeMachine, loadAverage } from "../src/bench/machine.ts";
import { measureDecodeStep } from "../src/cli/bench_gpu_decode.ts";

const ROOT = new URL("../", import.meta.url).pathname;
const { values: args } = parseArgs({
  options: {
    model: { type: "string" },
    frames: { type: "string", default: "60" },
    seconds: { type: "string", default: "3" },
    batches: { type: "string", default: "1,8,32" },
    out: { type: "string", default: `${ROOT}bench/results/decode_step.json` },
  },
});
const framesPerRow = Number(args.frames);
const secondsPerPath = Number(args.seconds);
const batches = args.batches.split(",").map(Number);

let modelDir = args.model;
let tempDir: string | undefined;
if (!modelDir) {
  tempDir = modelDir = Deno.makeTempDirSync({ prefix: "decode-step-v3-" });
  const python = `${ROOT}.tools/venv-nemo/bin/python`;
  const made = new Deno.Command(python, {
    args: [`${ROOT}tests/model/make_v3_signature.py`, modelDir],
  }).outputSync();
  if (!made.success) throw new Error(new TextDecoder().decode(made.stderr));
}

using runtime = OrtRuntime.load();
const session = { intraOpThreads: 1 };
// Each path from a model of its own: the copying path over the plain joint session (as before
// the decode step), the fused step, and the chain.
using model = ParakeetModel.load(runtime, modelDir, {
  device: "cpu",
  session,
  decodeStep: "resident",
});
using host = ParakeetModel.load(runtime, modelDir, { device: "cpu", session, decodeStep: "host" });
using chained = ParakeetModel.load(runtime, modelDir, {
  device: "cpu",
  session,
  decodeStep: "resident-chain",
});
const spec = model.spec;
const loadStart = loadAverage();
const results = measureDecodeStep({ model, host, chain: chained.decodeStep }, {
  batches,
  framesPerRow,
  seconds: secondsPerPath,
  onRow: ({ batch, host: h, resident: r, chain: c }) =>
    console.error(
      `batch ${batch}: host ${h.row_steps_per_second} row-steps/s ${h.bytes_per_call_per_row} B/row/call; resident ${r.row_steps_per_second} row-steps/s ${r.bytes_per_call_per_row} B/row/call; chain ${c?.row_steps_per_second} row-steps/s`,
    ),
});

const report = {
  benchmark: "decode_step",
  date: new Date().toISOString(),
  what:
    "greedy TDT decoding of seeded random encoder frames through a joint with v3's signature (8,198 logits per row, unless --model names another): host path (OrtJoiner + decodeTdtBatch) against the resident decode step (frames → decoder_joint → head spliced into one ONNX Runtime session, one run a call over IO bindings, states compacted as rows finish) and against the same step as a chain of three sessions (chain), all in one process, in rotation",
  model: {
    source: "tests/model/make_v3_signature.py (random weights, v3 I/O signature)",
    num_classes: spec.numClasses,
    num_durations: spec.durations.length,
    encoder_dim: spec.encoderDim,
    state: [spec.stateLayers, spec.stateHidden],
  },
  session: { device: "cpu", intra_op_threads: 1 },
  machine: { ...describeMachine(runtime.version), load_average_start: loadStart },
  results,
};
const json = JSON.stringify(report, null, 2);
Deno.mkdirSync(new URL(".", `file://${args.out}`).pathname, { recursive: true });
Deno.writeTextFileSync(args.out, json + "\n");
console.log(json);
if (tempDir) Deno.removeSync(tempDir, { recursive: true });
