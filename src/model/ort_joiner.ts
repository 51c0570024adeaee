import type { InferenceSession } from "../../ffi/mod.ts";
import type { Joiner, JoinInput, JoinOutput, TdtSpec } from "../decode/joiner.ts";

/** The model returned something decoding cannot use (NaN, wrong shape): a model failure. */
export class ModelOutputError extends Error {
  override name = "ModelOutputError";
}

/**
 * The TDT joint over ONNX Runtime: `decoder_joint-model.onnx` runs the prediction network on
 * the targets and joins it with the encoder frames. Synchronous on purpose: it runs many times
 * per step inside the inference worker, where a blocking call is the cheapest one.
 */
export class OrtJoiner implements Joiner {
  #session: InferenceSession;
  #spec: TdtSpec;
  #ones = new Int32Array(0);
  static readonly OUTPUTS = ["outputs", "output_states_1", "output_states_2"] as const;

  constructor(session: InferenceSession, spec: TdtSpec) {
    this.#session = session;
    this.#spec = spec;
  }

  join(input: JoinInput): JoinOutput {
    const { batch } = input;
    const { encoderDim, stateLayers, stateHidden, numClasses, durations } = this.#spec;
    if (this.#ones.length < batch) this.#ones = new Int32Array(batch).fill(1);
    const states = [stateLayers, batch, stateHidden];
    const out = this.#session.run({
      encoder_outputs: { type: "float32", dims: [batch, encoderDim, 1], data: input.encoderFrames },
      targets: { type: "int32", dims: [batch, 1], data: input.targets },
      target_length: { type: "int32", dims: [batch], data: this.#ones.subarray(0, batch) },
      input_states_1: { type: "float32", dims: states, data: input.state1 },
      input_states_2: { type: "float32", dims: states, data: input.state2 },
    }, OrtJoiner.OUTPUTS);
    const width = numClasses + durations.length;
    const logits = out.outputs.data as Float32Array;
    if (logits.length !== batch * width) {
      throw new ModelOutputError(
        `decoder_joint returned ${logits.length} logits for ${batch} rows of ${width} (dims [${out.outputs.dims}])`,
      );
    }
    for (let i = 0; i < logits.length; i++) {
      // Not finite means a broken model or input; argmax over it would decode garbage silently.
      if (!Number.isFinite(logits[i])) {
        throw new ModelOutputError(`decoder_joint returned a non-finite logit (${logits[i]})`);
      }
    }
    return {
      logits,
      state1: out.output_states_1.data as Float32Array,
      state2: out.output_states_2.data as Float32Array,
    };
  }
}
