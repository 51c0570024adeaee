/**
 * How the encoder's native memory settles under varying batch sizes: encodes streaming windows
 * at random batch sizes and reports the process's RSS, with ONNX Runtime's CPU memory arena on
 * or off, and with or without a warm-up call at the largest batch first.
 *
 *   deno run -A lab/probes/arena_probe.ts [--model models/demo] [--calls 1500] [--max-batch 12]
 *     [--arena on|off] [--pattern on|off] [--warmup-max] [--out lab/runs/<date>-arena-probe/arena-probe.json]
 *
 * With --out, the run is added to that file's list of runs (the machine described in each).
 */
import { parseArgs } from "node:util";
import { OrtRuntime } from "../../ffi/mod.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { describeMachine, loadAverage } from "../../src/bench/machine.ts";

const { values } = parseArgs({
  options: {
    model: { type: "string", default: "models/demo" },
    calls: { type: "string", default: "1500" },
    "max-batch": { type: "string", default: "12" },
    frames: { type: "string", default: "272" },
    arena: { type: "string", default: "on" },
    pattern: { type: "string", default: "on" },
    "warmup-max": { type: "boolean", default: false },
    out: { type: "string" },
  },
});
const calls = Number(values.calls);
const maxBatch = Number(values["max-batch"]);
const frames = Number(values.frames);

function rssMiB(): number {
  const status = Deno.readTextFileSync("/proc/self/status");
  return Number(status.match(/VmRSS:\s+(\d+)/)?.[1] ?? 0) / 1024;
}

using runtime = OrtRuntime.load();
const model = ParakeetModel.load(runtime, values.model!, {
  device: "cpu",
  session: { memoryArena: values.arena !== "off", memoryPattern: values.pattern !== "off" },
});
const encodeAt = (batch: number) => {
  const feats = new Float32Array(batch * model.featuresSize * frames);
  for (let i = 0; i < feats.length; i++) feats[i] = Math.sin(i) * 0.5;
  model.encode(feats, batch, frames, Array(batch).fill(frames));
};
if (values["warmup-max"]) encodeAt(maxBatch);
const start = rssMiB();
let seed = 12345;
const rand = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
const series: number[] = [];
const t0 = performance.now();
// Mostly small batches, rarely the largest: the rare large batch is what a soak meets late.
for (let k = 0; k < calls; k++) {
  const b = rand() < 0.02 ? maxBatch : 1 + Math.floor(rand() ** 2 * maxBatch);
  encodeAt(Math.min(b, maxBatch));
  if (k % 100 === 0) series.push(Math.round(rssMiB()));
}
const run = {
  model: values.model,
  maxBatch,
  frames,
  calls,
  arena: values.arena,
  pattern: values.pattern,
  warmupMax: values["warmup-max"],
  startMiB: Math.round(start),
  endMiB: Math.round(rssMiB()),
  msPerCall: Math.round((performance.now() - t0) / calls * 10) / 10,
  series,
  machine: describeMachine(runtime.version),
  loadavg: loadAverage(),
};
console.log(JSON.stringify(run));
if (values.out) {
  let runs: unknown[] = [];
  try {
    runs = JSON.parse(Deno.readTextFileSync(values.out)).runs;
  } catch {
    // a new file
  }
  const text = JSON.stringify({ what: "lab/probes/arena_probe.ts", runs: [...runs, run] }, null, 1);
  Deno.writeTextFileSync(values.out + ".tmp", text + "\n");
  Deno.renameSync(values.out + ".tmp", values.out);
}
model.close();
