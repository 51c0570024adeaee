/// <reference lib="deno.worker" />
/** One lane of bench/encoder_limit.ts: its own session, timed when every lane is ready. */
import { OrtRuntime } from "../ffi/mod.ts";
import { measureEncoderLimit } from "../src/bench/encoder_limit.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";

export interface LaneJob {
  dir: string;
  windowMs: number;
  stepMs: number;
  /** This lane's batch sizes. */
  batches: number[];
  reps: number;
  threads: number;
  lanes: number;
  /** One counter per batch size: the lanes that reached its timed calls. */
  barrier: SharedArrayBuffer;
}

self.onmessage = (e: MessageEvent<LaneJob>) => {
  const job = e.data;
  const met = new Int32Array(job.barrier);
  const rt = OrtRuntime.load();
  const model = ParakeetModel.load(rt, job.dir, {
    device: "cpu",
    session: { intraOpThreads: job.threads },
  });
  const result = measureEncoderLimit(model, {
    windowMs: job.windowMs,
    stepMs: job.stepMs,
    batches: job.batches,
    reps: job.reps,
    beforeTimed: (batch) => {
      const i = job.batches.indexOf(batch);
      Atomics.add(met, i, 1);
      Atomics.notify(met, i);
      for (let n = Atomics.load(met, i); n < job.lanes; n = Atomics.load(met, i)) {
        Atomics.wait(met, i, n);
      }
    },
  });
  model.close();
  rt.close();
  self.postMessage(result);
};
