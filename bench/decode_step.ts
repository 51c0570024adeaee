/**
 * Greedy TDT decoding, host path against resident decode step, side by side in one process on a
 * joint with Parakeet-TDT-0.6B-v3's full output width (8,193 tokens + 5 durations = 8,198
 * logits per row): the model directory of tests/model/make_v3_signature.py, built into a
 * temporary directory unless one is given. For batches of 1, 8 and 32 rows of seeded random
 * encoder frames, both paths decode the same rows in alternation (so machine load hits both
 * alike), must agree token for token, and are timed; the bytes crossing between TypeScript and
 * ONNX Runtime are read from ffi's transfer counters.
 *
 *   deno run -A bench/decode_step.ts [--model DIR] [--frames 60] [--seconds 3] [--out FILE]
 *
 * Writes bench/results/decode_step.json (or --out) and prints it.
 */
import { parseArgs } from "node:util";
import { OrtRuntime, transferStats } from "../ffi/mod.ts";
import type { DecodeStep } from "../src/decode/decode_step.ts";
import type { Joiner } from "../src/decode/joiner.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../src/decode/tdt_greedy.ts";
import { decodeTdtBatchStepped } from "../src/decode/tdt_greedy_step.ts";
import { initialTdtState } from "../src/decode/tdt_state.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";
import { describeMachine, loadAverage } from "../src/bench/machine.ts";
import { mulberry32 } from "./seeded_random.ts";

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

interface Counted {
  calls: number;
  rowCalls: number;
  /** Bytes crossing inside the calls (for the resident step: compactions included). */
  callBytes: number;
  /** The fewest bytes per row of any one call: a call with no per-batch work in it. */
  steadyPerRow: number;
}

/** The host path with its joint calls counted (the bound run counts its own bytes). */
function hostDecoder(model: ParakeetModel, c: Counted) {
  const joiner: Joiner = {
    join: (input) => {
      c.calls++;
      c.rowCalls += input.batch;
      const before = transferStats();
      const out = model.joiner.join(input);
      const after = transferStats();
      const bytes = after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
      c.callBytes += bytes;
      c.steadyPerRow = Math.min(c.steadyPerRow, bytes / input.batch);
      return out;
    },
  };
  return (rows: TdtRow[]) => decodeTdtBatch(joiner, model.spec, rows);
}

function residentDecoder(model: ParakeetModel, c: Counted) {
  const inner = model.decodeStep!;
  const step: DecodeStep = {
    begin: (rows) => {
      const batch = inner.begin(rows);
      return {
        step: (m, r, f, t) => {
          c.calls++;
          c.rowCalls += m;
          const before = transferStats();
          const out = batch.step(m, r, f, t);
          const after = transferStats();
          const bytes = after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
          c.callBytes += bytes;
          c.steadyPerRow = Math.min(c.steadyPerRow, bytes / m);
          return out;
        },
        states: () => batch.states(),
        close: () => batch.close(),
        [Symbol.dispose]: () => batch.close(),
      };
    },
  };
  return (rows: TdtRow[]) => decodeTdtBatchStepped(step, model.spec, rows);
}

interface PathResult {
  runs: number;
  seconds: number;
  joint_calls: number;
  row_steps: number;
  tokens: number;
  steps_per_second: number;
  row_steps_per_second: number;
  tokens_per_second: number;
  /** A call's bytes per row (the fewest of any call: one with no per-batch work). */
  bytes_per_call_per_row: number;
  /** All bytes inside calls over all row-steps (the resident step's compactions included). */
  bytes_per_row_step_in_calls: number;
  /** Also counting the once-per-batch upload of frames and states and the final state read. */
  bytes_per_row_step_all: number;
}

using runtime = OrtRuntime.load();
const session = { intraOpThreads: 1 };
// One model, one decoder_joint session for both paths: its OrtJoiner is the host path and its
// decode step the resident one, so the two cannot differ by where the joint's weights landed.
using model = ParakeetModel.load(runtime, modelDir, {
  device: "cpu",
  session,
  decodeStep: "resident",
});
const spec = model.spec;
const loadStart = loadAverage();
const results: Record<string, unknown>[] = [];

for (const batch of batches) {
  const random = mulberry32(1000 + batch);
  const rows: TdtRow[] = Array.from({ length: batch }, () => ({
    frames: Float32Array.from(
      { length: framesPerRow * spec.encoderDim },
      () => (random() * 2 - 1) * 0.9,
    ),
    numFrames: framesPerRow,
    state: initialTdtState(spec),
  }));
  const counted = { host: fresh(), resident: fresh() };
  const run = {
    host: hostDecoder(model, counted.host),
    resident: residentDecoder(model, counted.resident),
  };
  // Warm-up (binds each row count once) and the token-for-token check.
  const a = run.host(rows);
  const b = run.resident(rows);
  const identical = same(a, b);
  if (!identical) throw new Error(`batch ${batch}: the two paths disagree`);
  Object.assign(counted.host, fresh());
  Object.assign(counted.resident, fresh());

  const time = { host: 0, resident: 0 };
  const bytes = { host: 0, resident: 0 };
  const tokens = { host: 0, resident: 0 };
  const runs = { host: 0, resident: 0 };
  while (time.host < secondsPerPath || time.resident < secondsPerPath || runs.host < 3) {
    // Alternating which path goes first cancels what the order itself would favour.
    const order = runs.host % 2 === 0
      ? ["host", "resident"] as const
      : ["resident", "host"] as const;
    for (const path of order) {
      const before = transferStats();
      const t0 = performance.now();
      const out = run[path](rows);
      time[path] += (performance.now() - t0) / 1000;
      const after = transferStats();
      bytes[path] += after.toOrt + after.fromOrt - before.toOrt - before.fromOrt;
      tokens[path] += out.reduce((n, r) => n + r.tokens.length, 0);
      runs[path]++;
    }
  }
  const summary = (path: "host" | "resident"): PathResult => {
    const c = counted[path];
    return {
      runs: runs[path],
      seconds: round(time[path], 3),
      joint_calls: c.calls,
      row_steps: c.rowCalls,
      tokens: tokens[path],
      steps_per_second: round(c.calls / time[path], 1),
      row_steps_per_second: round(c.rowCalls / time[path], 1),
      tokens_per_second: round(tokens[path] / time[path], 1),
      bytes_per_call_per_row: round(c.steadyPerRow, 1),
      bytes_per_row_step_in_calls: round(c.callBytes / c.rowCalls, 1),
      bytes_per_row_step_all: round(bytes[path] / c.rowCalls, 1),
    };
  };
  const h = summary("host");
  const r = summary("resident");
  results.push({
    batch,
    frames_per_row: framesPerRow,
    tokens_per_run: a.reduce((n, x) => n + x.tokens.length, 0),
    identical_tokens: identical,
    host: h,
    resident: r,
    speedup: round(r.row_steps_per_second / h.row_steps_per_second, 3),
  });
  console.error(
    `batch ${batch}: host ${h.row_steps_per_second} row-steps/s ${h.bytes_per_call_per_row} B/row/call; resident ${r.row_steps_per_second} row-steps/s ${r.bytes_per_call_per_row} B/row/call`,
  );
}

const report = {
  benchmark: "decode_step",
  date: new Date().toISOString(),
  what:
    "greedy TDT decoding of seeded random encoder frames through a joint with v3's signature (8,198 logits per row): host path (OrtJoiner + decodeTdtBatch) against the resident decode step (frames → decoder_joint → head chained in ONNX Runtime, states compacted as rows finish), both in one process, alternating",
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

function fresh(): Counted {
  return { calls: 0, rowCalls: 0, callBytes: 0, steadyPerRow: Infinity };
}

function same(a: TdtRowResult[], b: TdtRowResult[]): boolean {
  return a.every((x, i) =>
    JSON.stringify([x.tokens, x.frames, x.durations, x.state.frameSkip]) ===
      JSON.stringify([b[i].tokens, b[i].frames, b[i].durations, b[i].state.frameSkip])
  );
}

function round(x: number, digits: number): number {
  const k = 10 ** digits;
  return Math.round(x * k) / k;
}
