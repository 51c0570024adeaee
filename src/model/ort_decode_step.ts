/**
 * The greedy-TDT decode step with its data resident in ONNX Runtime.
 *
 * The host path (OrtJoiner + decodeTdtBatch) sends each row's encoder frame and LSTM states into
 * `decoder_joint` on every call and reads back every logit (numClasses + numDurations floats: 8,198
 * for Parakeet-TDT-0.6B-v3, ~33 KB per row) to take two argmaxes and check for non-finite values.
 * Here the same call is three ORT runs chained over ORT-owned values:
 *
 *   gather (decode_step_graphs.ts) — picks each row's frame out of the batch's encoder frames and
 *     its states out of the batch's states, in the joint's layouts;
 *   decoder_joint — the model's own session, unchanged, fed the gather's output values;
 *   head — both argmaxes, a per-row non-finite flag, and the states each row keeps (the new ones
 *     only after a non-blank token) scattered back into the batch's states.
 *
 * Per call TypeScript writes the frame index, row index and last token of each row (20 bytes)
 * and reads its token, duration index and logit sum (20 bytes: the sum is not finite when a
 * logit is not); the encoder frames are
 * copied in once per batch and the states once in and once out. The helper graphs have no
 * weights and are emitted as ONNX bytes at load from the decoder's dimensions (onnx_proto.ts),
 * so there is no generated file to ship or keep in step with the model.
 *
 * Runs are ORT's plain Run with ORT allocating each output: on the CPU that is memory ORT owns
 * and passes from session to session by pointer. (On CUDA plain Run returns outputs in host
 * memory, so there the chain would still copy; keeping them on the device needs IO binding —
 * hence the model selects this step on the CPU only.)
 */
import type { HostValue, InferenceSession, OrtRuntime, ResidentValue } from "../../ffi/mod.ts";
import type { SessionOptions, ValueRun } from "../../ffi/mod.ts";
import type { DecodeStep, DecodeStepBatch, DecodeStepOutput } from "../decode/decode_step.ts";
import type { TdtSpec } from "../decode/joiner.ts";
import type { TdtRow } from "../decode/tdt_greedy.ts";
import { type DecodeStepDims, gatherGraph, headGraph } from "./decode_step_graphs.ts";
import { ModelOutputError } from "./ort_joiner.ts";

/** The per-call host tensors for one row count, bound once and reused. */
interface CallValues {
  frameIndex: HostValue<"int64">;
  rowIndex: HostValue<"int64">;
  targets: HostValue<"int32">;
  tokens: HostValue<"int64">;
  durationIndex: HostValue<"int64">;
  rowSums: HostValue<"float32">;
  output: DecodeStepOutput;
}

export class OrtDecodeStep implements DecodeStep, Disposable {
  readonly spec: TdtSpec;
  #gather: InferenceSession;
  #head: InferenceSession;
  #gatherRun: ValueRun;
  #jointRun: ValueRun;
  #headRun: ValueRun;
  #calls = new Map<number, CallValues>();

  private constructor(
    spec: TdtSpec,
    joint: InferenceSession,
    gather: InferenceSession,
    head: InferenceSession,
  ) {
    this.spec = spec;
    this.#gather = gather;
    this.#head = head;
    this.#gatherRun = gather.valueRun(
      ["encoder_frames", "frame_index", "states_1", "states_2", "row_index"],
      ["encoder_outputs", "input_states_1", "input_states_2", "target_length", "scatter_index"],
    );
    this.#jointRun = joint.valueRun(
      ["encoder_outputs", "targets", "target_length", "input_states_1", "input_states_2"],
      ["outputs", "output_states_1", "output_states_2"],
    );
    this.#headRun = head.valueRun(
      [
        "outputs",
        "input_states_1",
        "input_states_2",
        "output_states_1",
        "output_states_2",
        "states_1",
        "states_2",
        "scatter_index",
      ],
      ["token", "duration_index", "row_sums", "next_states_1", "next_states_2"],
    );
  }

  /**
   * Builds the helper sessions beside `joint` (which stays owned by the caller and must outlive
   * this step). `options` are the joint's session options.
   */
  static create(
    runtime: OrtRuntime,
    joint: InferenceSession,
    spec: TdtSpec,
    options: SessionOptions,
  ): OrtDecodeStep {
    const dims: DecodeStepDims = {
      encoderDim: spec.encoderDim,
      stateLayers: spec.stateLayers,
      stateHidden: spec.stateHidden,
      numClasses: spec.numClasses,
      numDurations: spec.durations.length,
      blankId: spec.blankId,
    };
    const gather = runtime.createSessionFromBytes(gatherGraph(dims), "decode_step_gather", options);
    try {
      const head = runtime.createSessionFromBytes(headGraph(dims), "decode_step_head", options);
      return new OrtDecodeStep(spec, joint, gather, head);
    } catch (e) {
      gather.close();
      throw e;
    }
  }

  begin(rows: readonly TdtRow[]): DecodeStepBatch {
    return new OrtDecodeStepBatch(this, rows);
  }

  /** @internal */
  callValues(m: number): CallValues {
    let v = this.#calls.get(m);
    if (v) return v;
    const s = this.#gather;
    const i64 = (name: string, dims: number[]) =>
      s.hostValue(name, { type: "int64", dims, data: new BigInt64Array(m) });
    v = {
      frameIndex: i64("frame_index", [m]),
      rowIndex: i64("row_index", [m]),
      targets: s.hostValue("targets", { type: "int32", dims: [m, 1], data: new Int32Array(m) }),
      tokens: i64("token", [m, 1, 1]),
      durationIndex: i64("duration_index", [m, 1, 1]),
      rowSums: s.hostValue("row_sums", {
        type: "float32",
        dims: [m, 1, 1],
        data: new Float32Array(m),
      }),
      output: { tokens: new Int32Array(m), durationIndex: new Int32Array(m) },
    };
    this.#calls.set(m, v);
    return v;
  }

  /** @internal One call: see the file comment. Returns the states after it. */
  run(
    encoder: ResidentValue,
    states1: ResidentValue,
    states2: ResidentValue,
    v: CallValues,
  ): [ResidentValue, ResidentValue] {
    const [enc, in1, in2, lengths, scatter] = this.#gatherRun.run(
      [encoder, v.frameIndex, states1, states2, v.rowIndex],
      [null, null, null, null, null],
    ) as ResidentValue[];
    try {
      const [logits, out1, out2] = this.#jointRun.run(
        [enc, v.targets, lengths, in1, in2],
        [null, null, null],
      ) as ResidentValue[];
      try {
        const [, , , next1, next2] = this.#headRun.run(
          [logits, in1, in2, out1, out2, states1, states2, scatter],
          [v.tokens, v.durationIndex, v.rowSums, null, null],
        ) as ResidentValue[];
        if (!v.rowSums.data.every(Number.isFinite)) {
          // Rare: read the logits to confirm (finite logits can sum past float range too) and
          // to name the value, as the host path does.
          const all = logits.read("outputs").data as Float32Array;
          const bad = all.find((x) => !Number.isFinite(x));
          if (bad !== undefined) {
            next1.close();
            next2.close();
            throw new ModelOutputError(`decoder_joint returned a non-finite logit (${bad})`);
          }
        }
        return [next1, next2];
      } finally {
        logits.close();
        out1.close();
        out2.close();
      }
    } finally {
      enc.close();
      in1.close();
      in2.close();
      lengths.close();
      scatter.close();
    }
  }

  /** @internal */
  allocate(dims: readonly number[]): ResidentValue {
    return this.#gather.allocate("float32", dims);
  }

  close(): void {
    for (const v of this.#calls.values()) {
      v.frameIndex.close();
      v.rowIndex.close();
      v.targets.close();
      v.tokens.close();
      v.durationIndex.close();
      v.rowSums.close();
    }
    this.#calls.clear();
    this.#gather.close();
    this.#head.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

class OrtDecodeStepBatch implements DecodeStepBatch {
  #step: OrtDecodeStep;
  #encoder: ResidentValue;
  #states1: ResidentValue;
  #states2: ResidentValue;
  /** Index of each row's first frame in the batch's encoder frames. */
  #offsets: Int32Array;
  #n: number;

  constructor(step: OrtDecodeStep, rows: readonly TdtRow[]) {
    const { encoderDim, stateLayers, stateHidden } = step.spec;
    const n = rows.length;
    const stateSize = stateLayers * stateHidden;
    this.#step = step;
    this.#n = n;
    this.#offsets = new Int32Array(n);
    let total = 0;
    rows.forEach((r, i) => {
      this.#offsets[i] = total;
      total += r.numFrames;
    });
    const frames = new Float32Array(total * encoderDim);
    const s1 = new Float32Array(n * stateSize);
    const s2 = new Float32Array(n * stateSize);
    rows.forEach((r, i) => {
      frames.set(r.frames.subarray(0, r.numFrames * encoderDim), this.#offsets[i] * encoderDim);
      s1.set(r.state.state1, i * stateSize);
      s2.set(r.state.state2, i * stateSize);
    });
    // The states' batch layout is [N, layers, hidden]: a row's state is one contiguous block,
    // as TdtState holds it, so the upload and the final read are plain copies.
    this.#encoder = step.allocate([total, encoderDim, 1]);
    this.#states1 = step.allocate([n, stateLayers, stateHidden]);
    this.#states2 = step.allocate([n, stateLayers, stateHidden]);
    this.#encoder.write(frames);
    this.#states1.write(s1);
    this.#states2.write(s2);
  }

  step(m: number, rows: Int32Array, frames: Int32Array, targets: Int32Array): DecodeStepOutput {
    const v = this.#step.callValues(m);
    const frameIndex = v.frameIndex.data;
    const rowIndex = v.rowIndex.data;
    const lastTokens = v.targets.data;
    for (let j = 0; j < m; j++) {
      const i = rows[j];
      frameIndex[j] = BigInt(this.#offsets[i] + frames[j]);
      rowIndex[j] = BigInt(i);
      lastTokens[j] = targets[j];
    }
    const [next1, next2] = this.#step.run(this.#encoder, this.#states1, this.#states2, v);
    this.#states1.close();
    this.#states2.close();
    this.#states1 = next1;
    this.#states2 = next2;
    const { tokens, durationIndex } = v.output;
    for (let j = 0; j < m; j++) {
      tokens[j] = Number(v.tokens.data[j]);
      durationIndex[j] = Number(v.durationIndex.data[j]);
    }
    return v.output;
  }

  states(): { state1: Float32Array; state2: Float32Array }[] {
    const size = this.#step.spec.stateLayers * this.#step.spec.stateHidden;
    const s1 = this.#states1.read("states_1").data as Float32Array;
    const s2 = this.#states2.read("states_2").data as Float32Array;
    return Array.from({ length: this.#n }, (_, i) => ({
      state1: s1.slice(i * size, (i + 1) * size),
      state2: s2.slice(i * size, (i + 1) * size),
    }));
  }

  close(): void {
    this.#encoder.close();
    this.#states1.close();
    this.#states2.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
