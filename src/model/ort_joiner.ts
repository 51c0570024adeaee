import type { BoundRun, InferenceSession, Tensor } from "../../ffi/mod.ts";
import type { Joiner, JoinInput, JoinOutput, TdtSpec } from "../decode/joiner.ts";

/** The model returned something decoding cannot use (NaN, wrong shape): a model failure. */
export class ModelOutputError extends Error {
  override name = "ModelOutputError";
}

/**
 * The TDT joint over ONNX Runtime: `decoder_joint-model.onnx` runs the prediction network on
 * the targets and joins it with the encoder frames. It runs many times per step, so each batch
 * size gets a run bound once to preallocated arrays: a call is one copy in, one FFI call, and
 * the outputs read in place (about 10× cheaper than wrapping tensors per call). Only the outputs
 * decoding reads are bound: `prednet_lengths` is left unasked, so an export without it works.
 * Synchronous on purpose: it runs inside the inference worker, where a blocking call is the
 * cheapest one.
 */
export class OrtJoiner implements Joiner, Disposable {
  #session: InferenceSession;
  #spec: TdtSpec;
  #fused: boolean;
  /** The input the frames go to: `encoder_frames` on the fused session, else the joint's own. */
  #framesInput: string;
  #bound = new Map<number, BoundRun>();

  /**
   * `fused`: the session is the decode step's (ort_decode_step.ts), the joint's graph with the
   * helper nodes spliced in. Its frames come in as `encoder_frames` picked by `frame_index`
   * (here each row its own frame) and it makes the lengths itself; the rest is the joint's.
   */
  constructor(session: InferenceSession, spec: TdtSpec, opts: { fused?: boolean } = {}) {
    this.#session = session;
    this.#spec = spec;
    this.#fused = opts.fused ?? false;
    this.#framesInput = this.#fused ? "encoder_frames" : "encoder_outputs";
  }

  #boundFor(batch: number): BoundRun {
    let run = this.#bound.get(batch);
    if (run) return run;
    const { encoderDim, stateLayers, stateHidden, numClasses, durations } = this.#spec;
    const states = [stateLayers, batch, stateHidden];
    const stateSize = stateLayers * batch * stateHidden;
    const width = numClasses + durations.length;
    const frames: Tensor = {
      type: "float32",
      dims: [batch, encoderDim, 1],
      data: new Float32Array(batch * encoderDim),
    };
    const framesIn: Record<string, Tensor> = this.#fused
      ? {
        [this.#framesInput]: frames,
        frame_index: {
          type: "int64",
          dims: [batch],
          data: BigInt64Array.from({ length: batch }, (_, i) => BigInt(i)),
        },
      }
      : {
        [this.#framesInput]: frames,
        target_length: {
          type: "int32",
          dims: [batch],
          data: new Int32Array(batch).fill(1),
        },
      };
    run = this.#session.bind({
      ...framesIn,
      targets: { type: "int32", dims: [batch, 1], data: new Int32Array(batch) },
      input_states_1: { type: "float32", dims: states, data: new Float32Array(stateSize) },
      input_states_2: { type: "float32", dims: states, data: new Float32Array(stateSize) },
    }, {
      outputs: {
        type: "float32",
        dims: [batch, 1, 1, width],
        data: new Float32Array(batch * width),
      },
      output_states_1: { type: "float32", dims: states, data: new Float32Array(stateSize) },
      output_states_2: { type: "float32", dims: states, data: new Float32Array(stateSize) },
    });
    this.#bound.set(batch, run);
    return run;
  }

  /** The returned arrays are reused by the next call with the same batch size. */
  join(input: JoinInput): JoinOutput {
    const run = this.#boundFor(input.batch);
    const i = run.inputs;
    (i[this.#framesInput].data as Float32Array).set(input.encoderFrames);
    (i.targets.data as Int32Array).set(input.targets);
    (i.input_states_1.data as Float32Array).set(input.state1);
    (i.input_states_2.data as Float32Array).set(input.state2);
    run.run();
    const logits = run.outputs.outputs.data as Float32Array;
    for (let k = 0; k < logits.length; k++) {
      // Not finite means a broken model or input; argmax over it would decode garbage silently.
      if (!Number.isFinite(logits[k])) {
        throw new ModelOutputError(`decoder_joint returned a non-finite logit (${logits[k]})`);
      }
    }
    return {
      logits,
      state1: run.outputs.output_states_1.data as Float32Array,
      state2: run.outputs.output_states_2.data as Float32Array,
    };
  }

  close(): void {
    for (const run of this.#bound.values()) run.close();
    this.#bound.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
