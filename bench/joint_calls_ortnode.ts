/**
 * µs per decoder_joint call through onnxruntime-node (N-API), the same inputs as
 * joint_calls_ours.ts. Its install script is not run (Deno runs none without --allow-scripts),
 * so nothing is downloaded beyond the npm package, whose CPU binary is inside it.
 * Usage: deno run -A --no-lock bench/joint_calls_ortnode.ts MODEL_DIR ENC_DIM LAYERS HIDDEN [N] [BATCH]
 */
// Pinned inline on purpose: a benchmark-only comparison that the product must not depend on.
// deno-lint-ignore no-import-prefix
import * as ort from "npm:onnxruntime-node@1.23.0";
import { jointFeedArrays, timeCalls } from "./joint_feeds.ts";

const [dir, dimArg, layersArg, hiddenArg, nArg, bArg] = Deno.args;
const n = Number(nArg ?? 5000), batch = Number(bArg ?? 1);
const session = await ort.InferenceSession.create(`${dir}/decoder_joint-model.onnx`, {
  intraOpNumThreads: 1,
  executionProviders: ["cpu"],
});
const a = jointFeedArrays({
  batch,
  encoderDim: Number(dimArg),
  stateLayers: Number(layersArg),
  stateHidden: Number(hiddenArg),
});
const feeds = Object.fromEntries(
  Object.entries(a).map(([k, v]) => [
    k,
    new ort.Tensor(v.data instanceof Int32Array ? "int32" : "float32", v.data, v.dims),
  ]),
);
const result = {
  ort_version: ort.env.versions?.common ?? "1.23.0",
  batch,
  calls: n,
  run_us: await timeCalls(n, () => session.run(feeds)),
};
await session.release();
console.log(JSON.stringify(result));
