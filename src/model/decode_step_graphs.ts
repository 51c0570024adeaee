/**
 * The two small weightless graphs that sit either side of the model's `decoder_joint` in the
 * resident decode step (ort_decode_step.ts). Built at load from the decoder's dimensions; every
 * other dimension is symbolic: M rows in this call, N rows in the decoding batch, F encoder
 * frames of all rows together.
 *
 * gather — per call, before the joint:
 *   encoder_frames [F, D, 1], frame_index [M] → encoder_outputs [M, D, 1]   (the joint's layout)
 *   states_k [N, L, H], row_index [M]      → input_states_k [L, M, H]
 *                                          → target_length [M] (all 1), scatter_index [M, 1]
 * head — per call, after the joint:
 *   outputs [M, 1, 1, C + K]  → token [M, 1, 1] (argmax of the C token logits, first maximum),
 *                               duration_index [M, 1, 1] (argmax of the K duration logits),
 *                               row_sums [M, 1, 1] (not finite when a logit is NaN or ±Inf)
 *   states: a row keeps the joint's new LSTM state only when its token is not blank (the
 *   prediction network consumed a token), else its old one — scattered back into [N, L, H].
 */
import { OnnxGraph, OnnxType } from "./onnx_proto.ts";

// ScatterND, IsNaN on float, ArgMax's select_last_index: all in opset 13; 17 is what ORT ≥1.11
// fully implements and what IR version 8 pairs with.
const OPSET = 17;
const IR_VERSION = 8;

export interface DecodeStepDims {
  encoderDim: number;
  stateLayers: number;
  stateHidden: number;
  numClasses: number;
  numDurations: number;
  blankId: number;
}

export function gatherGraph(d: DecodeStepDims): Uint8Array<ArrayBuffer> {
  const g = new OnnxGraph("decode_step_gather");
  const { encoderDim: D, stateLayers: L, stateHidden: H } = d;
  // Frames stored [F, D, 1]: one Gather gives the joint's [M, D, 1] with no reshape node.
  const enc = g.input("encoder_frames", OnnxType.float, ["F", D, 1]);
  const frameIndex = g.input("frame_index", OnnxType.int64, ["M"]);
  const s1 = g.input("states_1", OnnxType.float, ["N", L, H]);
  const s2 = g.input("states_2", OnnxType.float, ["N", L, H]);
  const rowIndex = g.input("row_index", OnnxType.int64, ["M"]);
  const axis1 = g.constant("axis_1", { type: OnnxType.int64, dims: [1], values: [1] });

  g.node("Gather", [enc, frameIndex], ["encoder_outputs"], { axis: 0 });
  for (const [states, k] of [[s1, 1], [s2, 2]] as const) {
    const rows = g.node("Gather", [states, rowIndex], [`row_states_${k}`], { axis: 0 });
    g.node("Transpose", [rows], [`input_states_${k}`], { perm: [1, 0, 2] });
  }
  const m = g.node("Shape", [frameIndex], ["m"]);
  g.node("ConstantOfShape", [m], ["target_length"], {
    value: { type: OnnxType.int32, dims: [1], values: [1] },
  });
  g.node("Unsqueeze", [rowIndex, axis1], ["scatter_index"]);

  g.output("encoder_outputs", OnnxType.float, ["M", D, 1]);
  g.output("input_states_1", OnnxType.float, [L, "M", H]);
  g.output("input_states_2", OnnxType.float, [L, "M", H]);
  g.output("target_length", OnnxType.int32, ["M"]);
  g.output("scatter_index", OnnxType.int64, ["M", 1]);
  return g.toBytes(OPSET, IR_VERSION);
}

export function headGraph(d: DecodeStepDims): Uint8Array<ArrayBuffer> {
  const g = new OnnxGraph("decode_step_head");
  const { stateLayers: L, stateHidden: H, numClasses: C, numDurations: K } = d;
  const logits = g.input("outputs", OnnxType.float, ["M", 1, 1, C + K]);
  const old1 = g.input("input_states_1", OnnxType.float, [L, "M", H]);
  const old2 = g.input("input_states_2", OnnxType.float, [L, "M", H]);
  const new1 = g.input("output_states_1", OnnxType.float, [L, "M", H]);
  const new2 = g.input("output_states_2", OnnxType.float, [L, "M", H]);
  const all1 = g.input("states_1", OnnxType.float, ["N", L, H]);
  const all2 = g.input("states_2", OnnxType.float, ["N", L, H]);
  const scatterIndex = g.input("scatter_index", OnnxType.int64, ["M", 1]);
  const i64 = (name: string, values: number[]) =>
    g.constant(name, { type: OnnxType.int64, dims: [values.length], values });
  const start = i64("token_start", [0]);
  const classes = i64("num_classes", [C]);
  const width = i64("width", [C + K]);
  const lastAxis = i64("last_axis", [3]);
  const blank = g.constant("blank", { type: OnnxType.int64, dims: [], values: [d.blankId] });

  // Few nodes on purpose: at one row a node costs more in ORT's dispatch than in arithmetic, so
  // the logits keep the joint's [M, 1, 1, ·] layout and the outputs are [M, 1, 1].
  // ArgMax keeps the first of equal maxima (select_last_index 0), as the host argmax does.
  const argmax = { axis: 3, keepdims: 0, select_last_index: 0 };
  const tokenLogits = g.node("Slice", [logits, start, classes, lastAxis], ["token_logits"]);
  const durationLogits = g.node("Slice", [logits, classes, width, lastAxis], ["duration_logits"]);
  const token = g.node("ArgMax", [tokenLogits], ["token"], argmax);
  g.node("ArgMax", [durationLogits], ["duration_index"], argmax);
  // A row's sum is finite when all its logits are: the caller checks it (and, when it is not,
  // the logits themselves, since finite logits can also sum past float range).
  g.node("ReduceSum", [logits, lastAxis], ["row_sums"], { keepdims: 0 });

  const isBlank = g.node("Equal", [token, blank], ["is_blank"]);
  const mask = g.node("Transpose", [isBlank], ["blank_mask"], { perm: [1, 0, 2] });
  for (const [oldS, newS, all, k] of [[old1, new1, all1, 1], [old2, new2, all2, 2]] as const) {
    const kept = g.node("Where", [mask, oldS, newS], [`kept_${k}`]);
    const rows = g.node("Transpose", [kept], [`kept_rows_${k}`], { perm: [1, 0, 2] });
    g.node("ScatterND", [all, scatterIndex, rows], [`next_states_${k}`]);
  }

  g.output("token", OnnxType.int64, ["M", 1, 1]);
  g.output("duration_index", OnnxType.int64, ["M", 1, 1]);
  g.output("row_sums", OnnxType.float, ["M", 1, 1]);
  g.output("next_states_1", OnnxType.float, ["N", L, H]);
  g.output("next_states_2", OnnxType.float, ["N", L, H]);
  return g.toBytes(OPSET, IR_VERSION);
}
