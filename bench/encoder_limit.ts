/**
 * Batched offline encoder throughput for one streaming window length, the ceiling of streaming
 * capacity (src/bench/encoder_limit.ts, also behind `parakeet-server bench gpu`). Prints one JSON
 * object. Runs on the CPU.
 * Usage: deno run -A bench/encoder_limit.ts MODEL_DIR WINDOW_MS STEP_MS BATCH[,BATCH…] [REPS]
 */
import { OrtRuntime } from "../ffi/mod.ts";
import { measureEncoderLimit } from "../src/bench/encoder_limit.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";

const [dir, windowArg, stepArg, batchesArg, repsArg] = Deno.args;
using rt = OrtRuntime.load();
using model = ParakeetModel.load(rt, dir, { device: "cpu" });
console.log(JSON.stringify(measureEncoderLimit(model, {
  windowMs: Number(windowArg),
  stepMs: Number(stepArg),
  batches: batchesArg.split(",").map(Number),
  reps: Number(repsArg ?? 3),
})));
