/**
 * The one operation TDT decoding needs from the model: run the prediction network on the last
 * token of each row and join it with one encoder frame. Rows are independent streams; the batch
 * dimension lets one call step every active stream at once.
 */
export interface JoinInput {
  /** Rows in this call. */
  batch: number;
  /** One encoder frame per row, [batch, encoderDim]. */
  encoderFrames: Float32Array;
  /** The last emitted token of each row (the blank id when nothing was emitted yet), [batch]. */
  targets: Int32Array;
  /** Prediction-network LSTM states, [layers, batch, hidden] each. */
  state1: Float32Array;
  state2: Float32Array;
}

export interface JoinOutput {
  /** [batch, numClasses + numDurations]: token logits (blank included), then duration logits. */
  logits: Float32Array;
  /** LSTM states after consuming `targets`, [layers, batch, hidden] each. */
  state1: Float32Array;
  state2: Float32Array;
}

export interface Joiner {
  join(input: JoinInput): JoinOutput;
}

/** Shapes and rules of a TDT model's decoder, read from the model directory. */
export interface TdtSpec {
  /** Token classes including blank (the number of lines of vocab.txt). */
  numClasses: number;
  blankId: number;
  /** Frame advance of each duration class, e.g. [0, 1, 2, 3, 4]. */
  durations: readonly number[];
  /** At most this many tokens on one frame before the frame is forced forward. */
  maxSymbolsPerFrame: number;
  encoderDim: number;
  stateLayers: number;
  stateHidden: number;
}
