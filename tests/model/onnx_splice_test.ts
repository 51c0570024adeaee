/**
 * Splicing the decode step's helper nodes into a joint's graph (src/model/onnx_splice.ts): the
 * fused model computes what the three-session chain computes, and every model the splice cannot
 * take safely is refused with a SpliceError (the caller then keeps the chain).
 */
import assert from "node:assert/strict";
import { OrtRuntime, type Tensor } from "../../ffi/mod.ts";
import { f32, i64 } from "./graph_tensors.ts";
import {
  decodeStepDims,
  framesGraph,
  headGraph,
  stepAddition,
} from "../../src/model/decode_step_graphs.ts";
import { OnnxGraph, OnnxType } from "../../src/model/onnx_proto.ts";
import { defaultOpset, SpliceError, spliceGraph } from "../../src/model/onnx_splice.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { OrtDecodeStep } from "../../src/model/ort_decode_step.ts";
import { decodeTdtBatchStepped } from "../../src/decode/tdt_greedy_step.ts";
import { initialTdtState } from "../../src/decode/tdt_state.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const DIMS = {
  encoderDim: 8,
  stateLayers: 2,
  stateHidden: 3,
  numClasses: 5,
  numDurations: 3,
  blankId: 4,
};
const W = DIMS.numClasses + DIMS.numDurations;

/**
 * A stand-in for decoder_joint with its I/O signature: the logits are the row's frame (so a
 * test picks the tokens) and the new states are the old ones plus one.
 */
function toyJoint(opts: { opset?: number; extraOutput?: string; drop?: string } = {}) {
  const g = new OnnxGraph("toy_joint");
  const { stateLayers: L, stateHidden: H } = DIMS;
  const inputs: [string, number, (number | string)[]][] = [
    ["encoder_outputs", OnnxType.float, ["M", DIMS.encoderDim, 1]],
    ["targets", OnnxType.int32, ["M", 1]],
    ["target_length", OnnxType.int32, ["M"]],
    ["input_states_1", OnnxType.float, [L, "M", H]],
    ["input_states_2", OnnxType.float, [L, "M", H]],
  ];
  for (const [name, type, dims] of inputs) {
    if (name !== opts.drop) g.input(name, type as typeof OnnxType.float, dims);
  }
  const shape = g.constant("joint/shape", {
    type: OnnxType.int64,
    dims: [4],
    values: [-1, 1, 1, W],
  });
  const one = g.constant("joint/one", { type: OnnxType.float, dims: [], values: [1] });
  g.node("Reshape", ["encoder_outputs", shape], ["outputs"]);
  g.node("Add", ["input_states_1", one], ["output_states_1"]);
  g.node("Add", ["input_states_2", one], ["output_states_2"]);
  if (opts.extraOutput) g.node("Identity", ["targets"], [opts.extraOutput]);
  g.output("outputs", OnnxType.float, ["M", 1, 1, W]);
  g.output("output_states_1", OnnxType.float, [L, "M", H]);
  g.output("output_states_2", OnnxType.float, [L, "M", H]);
  return g.toBytes(opts.opset ?? 17, 8);
}

Deno.test("a spliced step computes what the frames → joint → head chain computes", () => {
  using runtime = OrtRuntime.load();
  const joint = toyJoint();
  using fused = runtime.createSessionFromBytes(
    spliceGraph(joint, stepAddition(DIMS)),
    "fused",
  );
  using frames = runtime.createSessionFromBytes(framesGraph(DIMS), "frames");
  using jointSession = runtime.createSessionFromBytes(joint, "joint");
  using head = runtime.createSessionFromBytes(headGraph(DIMS), "head");
  assert.deepEqual(
    [...fused.inputs.map((i) => i.name)].sort(),
    ["encoder_frames", "frame_index", "input_states_1", "input_states_2", "targets"],
    "the joint's frame and length inputs are now made inside",
  );

  // Three frames: a token (1), a blank (4) and a token (0) at the first of two maxima.
  const encoderFrames = [
    [0, 9, 0, 0, 0, 0, 2, 0],
    [0, 0, 0, 0, 9, 3, 0, 0],
    [7, 0, 0, 0, 7, 0, 0, 5],
  ].flat();
  const m = 3;
  const states = Array.from({ length: 2 * m * 3 }, (_, i) => i);
  const feeds = {
    encoder_frames: f32([3, 8, 1], encoderFrames),
    frame_index: i64([m], [2, 0, 1]),
    targets: { type: "int32", dims: [m, 1], data: new Int32Array([4, 4, 4]) } as Tensor,
    input_states_1: f32([2, m, 3], states),
    input_states_2: f32([2, m, 3], states.map((x) => -x)),
  };
  const out = fused.run(feeds);

  const picked = frames.run({
    encoder_frames: feeds.encoder_frames,
    frame_index: feeds.frame_index,
  });
  const joined = jointSession.run({
    encoder_outputs: picked.encoder_outputs,
    targets: feeds.targets,
    target_length: picked.target_length,
    input_states_1: feeds.input_states_1,
    input_states_2: feeds.input_states_2,
  });
  const chained = head.run({
    outputs: joined.outputs,
    input_states_1: feeds.input_states_1,
    input_states_2: feeds.input_states_2,
    output_states_1: joined.output_states_1,
    output_states_2: joined.output_states_2,
  });
  for (const name of ["token", "duration_index", "row_sums", "kept_states_1", "kept_states_2"]) {
    assert.deepEqual(out[name].dims, chained[name].dims, name);
    assert.deepEqual([...out[name].data], [...chained[name].data], name);
  }
  assert.deepEqual([...out.token.data], [0n, 1n, 4n]);
  assert.deepEqual([...out.duration_index.data], [2n, 1n, 0n]);
  // Rows 0 and 1 took a token (new states: old + 1), row 2 a blank (old states kept).
  const kept = [...out.kept_states_1.data] as number[];
  for (let l = 0; l < 2; l++) {
    for (let r = 0; r < m; r++) {
      for (let h = 0; h < 3; h++) {
        const i = (l * m + r) * 3 + h;
        assert.equal(kept[i], states[i] + (r === 2 ? 0 : 1), `layer ${l} row ${r}`);
      }
    }
  }
  // The joint's own outputs are still there for a run that asks for them.
  assert.deepEqual([...out.outputs.data], [...joined.outputs.data]);
});

Deno.test("a model the splice cannot take safely is refused with a SpliceError", () => {
  const addition = stepAddition(DIMS);
  assert.equal(defaultOpset(toyJoint({ opset: 12 })), 12);
  assert.throws(() => spliceGraph(toyJoint({ opset: 12 }), addition), /opset 12 is older than 13/);
  assert.throws(
    () => spliceGraph(toyJoint({ extraOutput: "token" }), addition),
    (e: unknown) => e instanceof SpliceError && /already has a value named token/.test(e.message),
  );
  assert.throws(
    () => spliceGraph(toyJoint({ drop: "target_length" }), addition),
    (e: unknown) => e instanceof SpliceError && /no input named target_length/.test(e.message),
  );

  // An initializer whose data lives in a file beside the model: TensorProto name (8) "w",
  // data_type (2) FLOAT, data_location (14) EXTERNAL, as a GraphProto initializer (5).
  const tensor = [0x42, 1, 0x77, 0x10, 1, 0x70, 1];
  const external = spliceGraph(toyJoint(), {
    before: new Uint8Array(0),
    after: Uint8Array.from([0x2a, tensor.length, ...tensor]),
    produces: [],
    minOpset: 0,
  });
  assert.throws(() => spliceGraph(external, addition), /external data files/);

  // Bytes that are not a model: cut short, or not protobuf at all.
  const joint = toyJoint();
  assert.throws(() => spliceGraph(joint.subarray(0, joint.length - 3), addition), SpliceError);
  assert.throws(() => spliceGraph(new Uint8Array([0xff, 0xff, 0xff]), addition), SpliceError);
  assert.throws(() => spliceGraph(new Uint8Array(0), addition), /no single graph/);
});

Deno.test({
  name: "a spliced model passes the onnx package's full checker",
  ignore: !haveNemoPython("the ONNX checker test of a spliced model"),
  fn: async () => {
    const dir = await Deno.makeTempDir();
    try {
      await Deno.writeFile(`${dir}/toy.onnx`, spliceGraph(toyJoint(), stepAddition(DIMS)));
      // And the committed tiny model's own decoder_joint (NeMo's export) with its dimensions.
      using runtime = OrtRuntime.load();
      using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
      const { spec } = model;
      const real = stepAddition(decodeStepDims(spec));
      await Deno.writeFile(
        `${dir}/tiny.onnx`,
        spliceGraph(await Deno.readFile(model.files.decoderJoint), real),
      );
      const out = await new Deno.Command(NEMO_PYTHON, {
        args: [
          "-c",
          "import onnx,sys\nfor f in sys.argv[1:]: onnx.checker.check_model(onnx.load(f), full_check=True)",
          `${dir}/toy.onnx`,
          `${dir}/tiny.onnx`,
        ],
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("a decode step whose joint cannot take the helper nodes runs the chain and says why", () => {
  using runtime = OrtRuntime.load();
  const spec = {
    numClasses: DIMS.numClasses,
    blankId: DIMS.blankId,
    durations: [0, 1, 2],
    maxSymbolsPerFrame: 10,
    encoderDim: DIMS.encoderDim,
    stateLayers: DIMS.stateLayers,
    stateHidden: DIMS.stateHidden,
  };
  const make = (opset: number, said: string[]) => {
    const joint = runtime.createSessionFromBytes(toyJoint({ opset }), "toy_joint");
    const step = OrtDecodeStep.create(
      runtime,
      joint,
      spec,
      { device: "cpu" },
      toyJoint({ opset }),
      (why) => said.push(why),
    );
    return { joint, step };
  };
  const said: string[] = [];
  const old = make(12, said);
  const current = make(17, said);
  try {
    assert.equal(old.step.fused, false);
    assert.equal(current.step.fused, true);
    assert.deepEqual(said, [
      "decode step: three runs a call (the model's opset 12 is older than 13)",
    ]);
    // Both decode a row alike: the frames are the logits, so the tokens are known.
    const frames = Float32Array.from([0, 9, 0, 0, 0, 0, 2, 0, 0, 0, 0, 0, 9, 3, 0, 0]);
    const row = () => ({ frames, numFrames: 2, state: initialTdtState(spec) });
    const a = decodeTdtBatchStepped(old.step, spec, [row(), row()]);
    const b = decodeTdtBatchStepped(current.step, spec, [row(), row()]);
    assert.deepEqual(a.map((r) => r.tokens), b.map((r) => r.tokens));
    assert.ok(a[0].tokens.includes(1), `tokens ${a[0].tokens}`);
  } finally {
    for (const { joint, step } of [old, current]) {
      step.close();
      joint.close();
    }
  }
});
