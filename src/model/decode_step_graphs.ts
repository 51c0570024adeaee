/**
 * The small weightless graphs around the model's `decoder_joint` in the resident decode step
 * (ort_decode_step.ts). Built at load from the decoder's dimensions; every other dimension is
 * symbolic: M rows in this call, P rows in the previous call, F encoder frames of all rows.
 * The LSTM states stay in the joint's own layout [L, M, H] from call to call, so a call needs
 * no state gather or scatter at all; only when rows finish are the states compacted.
 *
 * frames — per call, before the joint:
 *   encoder_frames [F, D, 1], frame_index [M] → encoder_outputs [M, D, 1], target_length [M] (1s)
 * head — per call, after the joint:
 *   outputs [M, 1, 1, C + K]  → token [M, 1, 1] (argmax of the C token logits, first maximum),
 *                               duration_index [M, 1, 1] (argmax of the K duration logits),
 *                               row_sums [M, 1, 1] (not finite when a logit is NaN or ±Inf)
 *   kept_states_k [L, M, H]: the joint's new state where the token is not blank (the
 *   prediction network consumed a token), else the row's old one
 * compact — when the active rows shrink:
 *   states_k [L, P, H], keep [M], done [R] → states_k of the rows kept [L, M, H], and of the
 *   rows that finished [L, R, H] (read back once: their final states)
 *
 * Few nodes on purpose: at one row a node costs more in ORT's dispatch than in arithmetic.
 */
import { OnnxGraph, OnnxType } from "./onnx_proto.ts";
import type { Addition } from "./onnx_splice.ts";
import type { TdtSpec } from "../decode/joiner.ts";

// ArgMax's select_last_index needs opset 12 and ReduceSum's axes input 13; 17 is what ORT ≥1.11
// fully implements and what IR version 8 pairs with.
const OPSET = 17;
const MIN_OPSET = 13;
const IR_VERSION = 8;
/** Names of the values only the helper nodes use: apart from any name a model's graph has. */
const PREFIX = "decode_step/";

export interface DecodeStepDims {
  encoderDim: number;
  stateLayers: number;
  stateHidden: number;
  numClasses: number;
  numDurations: number;
  blankId: number;
}

/** The dimensions the helper graphs are built from, read off a model's TDT spec. */
export function decodeStepDims(spec: TdtSpec): DecodeStepDims {
  return {
    encoderDim: spec.encoderDim,
    stateLayers: spec.stateLayers,
    stateHidden: spec.stateHidden,
    numClasses: spec.numClasses,
    numDurations: spec.durations.length,
    blankId: spec.blankId,
  };
}

export function framesGraph(d: DecodeStepDims): Uint8Array<ArrayBuffer> {
  const g = new OnnxGraph("decode_step_frames");
  addFrames(g, d);
  g.output("encoder_outputs", OnnxType.float, ["M", d.encoderDim, 1]);
  g.output("target_length", OnnxType.int32, ["M"]);
  return g.toBytes(OPSET, IR_VERSION);
}

export function headGraph(d: DecodeStepDims): Uint8Array<ArrayBuffer> {
  const g = new OnnxGraph("decode_step_head");
  const { stateLayers: L, stateHidden: H, numClasses: C, numDurations: K } = d;
  g.input("outputs", OnnxType.float, ["M", 1, 1, C + K]);
  for (const name of JOINT_STATES_IN) g.input(name, OnnxType.float, [L, "M", H]);
  for (const name of JOINT_STATES_OUT) g.input(name, OnnxType.float, [L, "M", H]);
  addHead(g, d);
  return g.toBytes(OPSET, IR_VERSION);
}

/**
 * frames and head around the model's own `decoder_joint` nodes, for onnx_splice.ts: one run a
 * call. The joint's inputs `encoder_outputs` and `target_length` become the frames' outputs; its
 * `targets` and states stay inputs, its logits and new states feed the head (and stay outputs,
 * which a run need not bind).
 */
export function stepAddition(d: DecodeStepDims): Addition {
  const frames = new OnnxGraph("decode_step_frames");
  addFrames(frames, d);
  const head = new OnnxGraph("decode_step_head");
  addHead(head, d);
  return {
    before: frames.graphFields(),
    after: head.graphFields(),
    produces: FRAMES_OUTPUTS,
    minOpset: MIN_OPSET,
  };
}

const FRAMES_OUTPUTS = ["encoder_outputs", "target_length"];
const JOINT_STATES_IN = ["input_states_1", "input_states_2"];
const JOINT_STATES_OUT = ["output_states_1", "output_states_2"];

function addFrames(g: OnnxGraph, d: DecodeStepDims): void {
  const enc = g.input("encoder_frames", OnnxType.float, ["F", d.encoderDim, 1]);
  const frameIndex = g.input("frame_index", OnnxType.int64, ["M"]);
  g.node("Gather", [enc, frameIndex], ["encoder_outputs"], { axis: 0 });
  const m = g.node("Shape", [frameIndex], [`${PREFIX}m`]);
  g.node("ConstantOfShape", [m], ["target_length"], {
    value: { type: OnnxType.int32, dims: [1], values: [1] },
  });
}

/** The head's nodes and outputs, reading the joint's `outputs` and states by their names. */
function addHead(g: OnnxGraph, d: DecodeStepDims): void {
  const { stateLayers: L, stateHidden: H, numClasses: C, numDurations: K } = d;
  const i64 = (name: string, values: number[]) =>
    g.constant(PREFIX + name, { type: OnnxType.int64, dims: [values.length], values });
  const start = i64("token_start", [0]);
  const classes = i64("num_classes", [C]);
  const width = i64("width", [C + K]);
  const lastAxis = i64("last_axis", [3]);
  const blank = g.constant(`${PREFIX}blank`, {
    type: OnnxType.int64,
    dims: [],
    values: [d.blankId],
  });

  // The logits keep the joint's [M, 1, 1, ·] layout, so the outputs are [M, 1, 1].
  // ArgMax keeps the first of equal maxima (select_last_index 0), as the host argmax does.
  const argmax = { axis: 3, keepdims: 0, select_last_index: 0 };
  const logits = "outputs";
  const tokenLogits = g.node("Slice", [logits, start, classes, lastAxis], [
    `${PREFIX}token_logits`,
  ]);
  const durationLogits = g.node("Slice", [logits, classes, width, lastAxis], [
    `${PREFIX}duration_logits`,
  ]);
  const token = g.node("ArgMax", [tokenLogits], ["token"], argmax);
  g.node("ArgMax", [durationLogits], ["duration_index"], argmax);
  // A row's sum is finite when all its logits are: the caller checks it (and, when it is not,
  // the logits themselves, since finite logits can also sum past float range).
  g.node("ReduceSum", [logits, lastAxis], ["row_sums"], { keepdims: 0 });

  const isBlank = g.node("Equal", [token, blank], [`${PREFIX}is_blank`]);
  const mask = g.node("Transpose", [isBlank], [`${PREFIX}blank_mask`], { perm: [1, 0, 2] });
  g.node("Where", [mask, JOINT_STATES_IN[0], JOINT_STATES_OUT[0]], ["kept_states_1"]);
  g.node("Where", [mask, JOINT_STATES_IN[1], JOINT_STATES_OUT[1]], ["kept_states_2"]);

  g.output("token", OnnxType.int64, ["M", 1, 1]);
  g.output("duration_index", OnnxType.int64, ["M", 1, 1]);
  g.output("row_sums", OnnxType.float, ["M", 1, 1]);
  g.output("kept_states_1", OnnxType.float, [L, "M", H]);
  g.output("kept_states_2", OnnxType.float, [L, "M", H]);
}

export function compactGraph(d: DecodeStepDims): Uint8Array<ArrayBuffer> {
  const g = new OnnxGraph("decode_step_compact");
  const { stateLayers: L, stateHidden: H } = d;
  const s1 = g.input("states_1", OnnxType.float, [L, "P", H]);
  const s2 = g.input("states_2", OnnxType.float, [L, "P", H]);
  const keep = g.input("keep", OnnxType.int64, ["M"]);
  const done = g.input("done", OnnxType.int64, ["R"]);
  g.node("Gather", [s1, keep], ["kept_1"], { axis: 1 });
  g.node("Gather", [s2, keep], ["kept_2"], { axis: 1 });
  g.node("Gather", [s1, done], ["done_1"], { axis: 1 });
  g.node("Gather", [s2, done], ["done_2"], { axis: 1 });
  g.output("kept_1", OnnxType.float, [L, "M", H]);
  g.output("kept_2", OnnxType.float, [L, "M", H]);
  g.output("done_1", OnnxType.float, [L, "R", H]);
  g.output("done_2", OnnxType.float, [L, "R", H]);
  return g.toBytes(OPSET, IR_VERSION);
}
