/**
 * µs per decoder_joint call through our FFI layer (sync run, bound run, awaited async run).
 * Prints one JSON object. Usage: deno run -A bench/joint_calls_ours.ts MODEL_DIR [N] [BATCH]
 */
import { OrtRuntime, tensor } from "../ffi/mod.ts";
import { ParakeetModel } from "../src/model/parakeet_model.ts";
import { jointFeedArrays, timeCalls } from "./joint_feeds.ts";

const [dir, nArg, bArg] = Deno.args;
const n = Number(nArg ?? 5000), batch = Number(bArg ?? 1);
using rt = OrtRuntime.load();
using model = ParakeetModel.load(rt, dir, { device: "cpu", session: { intraOpThreads: 1 } });
const spec = model.spec;
model.close();
const session = rt.createSession(`${dir}/decoder_joint-model.onnx`, {
  device: "cpu",
  intraOpThreads: 1,
});
const a = jointFeedArrays({ batch, ...spec });
const feeds = {
  encoder_outputs: tensor("float32", a.encoder_outputs.dims, a.encoder_outputs.data),
  targets: tensor("int32", a.targets.dims, a.targets.data),
  target_length: tensor("int32", a.target_length.dims, a.target_length.data),
  input_states_1: tensor("float32", a.input_states_1.dims, a.input_states_1.data),
  input_states_2: tensor("float32", a.input_states_2.dims, a.input_states_2.data),
};
const out = session.run(feeds);
const bound = session.bind(
  feeds,
  Object.fromEntries(Object.entries(out).map(([k, t]) => [k, tensor(t.type, t.dims)])),
);
const result = {
  ort_version: rt.version,
  batch,
  calls: n,
  encoder_dim: spec.encoderDim,
  state_layers: spec.stateLayers,
  state_hidden: spec.stateHidden,
  sync_run_us: await timeCalls(n, () => session.run(feeds)),
  bound_run_us: await timeCalls(n, () => bound.run()),
  async_run_us: await timeCalls(Math.ceil(n / 4), () => session.runAsync(feeds)),
};
bound.close();
session.close();
console.log(JSON.stringify(result));
