/**
 * Batched offline encoder throughput for one streaming window length, the ceiling of streaming
 * capacity (src/bench/encoder_limit.ts, also behind `parakeet-server bench gpu`). Prints one JSON
 * object. Runs on the CPU.
 *
 * With LANES > 1 it measures the way a server of that many inference lanes encodes: each lane a
 * worker with its own session and the cores shared out, every BATCH split equally among them,
 * all lanes timed at once (they meet before each batch size's timed calls) and their rates
 * added.
 *
 * Usage: deno run -A bench/encoder_limit.ts MODEL_DIR WINDOW_MS STEP_MS BATCH[,BATCH…] [REPS] [LANES]
 */
import { OrtRuntime } from "../ffi/mod.ts";
import {
  combineLanes,
  type EncoderLimit,
  measureEncoderLimit,
} from "../src/bench/encoder_limit.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";
import type { LaneJob } from "./encoder_limit_lane.ts";

const [dir, windowArg, stepArg, batchesArg, repsArg, lanesArg] = Deno.args;
const batches = batchesArg.split(",").map(Number);
const reps = Number(repsArg ?? 3);
const lanes = Number(lanesArg ?? 1);
if (!(Number.isInteger(lanes) && lanes >= 1 && batches.every((b) => b % lanes === 0))) {
  throw new RangeError(`LANES must be a whole number ≥ 1 dividing every batch (${lanes})`);
}

if (lanes === 1) {
  using rt = OrtRuntime.load();
  using model = ParakeetModel.load(rt, dir, { device: "cpu" });
  console.log(JSON.stringify(measureEncoderLimit(model, {
    windowMs: Number(windowArg),
    stepMs: Number(stepArg),
    batches,
    reps,
  })));
} else {
  const barrier = new SharedArrayBuffer(4 * batches.length);
  const threads = Math.max(1, Math.floor(navigator.hardwareConcurrency / lanes));
  const results = await Promise.all(Array.from({ length: lanes }, () => {
    const worker = new Worker(new URL("./encoder_limit_lane.ts", import.meta.url), {
      type: "module",
    });
    return new Promise<EncoderLimit>((resolve, reject) => {
      worker.onmessage = (e: MessageEvent<EncoderLimit>) => {
        worker.terminate();
        resolve(e.data);
      };
      worker.onerror = (e) => {
        e.preventDefault();
        worker.terminate();
        reject(new Error(`an encoder lane failed: ${e.message}`));
      };
      worker.postMessage(
        {
          dir,
          windowMs: Number(windowArg),
          stepMs: Number(stepArg),
          batches: batches.map((b) => b / lanes),
          reps,
          threads,
          lanes,
          barrier,
        } satisfies LaneJob,
      );
    });
  }));
  console.log(JSON.stringify({ ...combineLanes(results), threads_per_lane: threads }));
}
