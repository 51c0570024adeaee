/**
 * One greedy-decoding step's inputs for a decoder_joint model (batch B, one encoder frame, one
 * target): the call the TDT loop makes many times per streaming step. Sizes from config-free
 * facts: encoder dim and LSTM state size are read by the caller from the model's signature.
 */
export interface JointFeedSpec {
  batch: number;
  encoderDim: number;
  stateLayers: number;
  stateHidden: number;
}

export function jointFeedArrays(s: JointFeedSpec) {
  return {
    encoder_outputs: {
      dims: [s.batch, s.encoderDim, 1],
      data: new Float32Array(s.batch * s.encoderDim).map((_, i) => Math.sin(i)),
    },
    targets: { dims: [s.batch, 1], data: new Int32Array(s.batch) },
    target_length: { dims: [s.batch], data: new Int32Array(s.batch).fill(1) },
    input_states_1: {
      dims: [s.stateLayers, s.batch, s.stateHidden],
      data: new Float32Array(s.stateLayers * s.batch * s.stateHidden),
    },
    input_states_2: {
      dims: [s.stateLayers, s.batch, s.stateHidden],
      data: new Float32Array(s.stateLayers * s.batch * s.stateHidden),
    },
  };
}

/** Mean µs per call after a warm-up, over `n` calls. */
export async function timeCalls(n: number, fn: () => unknown): Promise<number> {
  for (let i = 0; i < Math.min(200, n); i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  return ((performance.now() - t0) * 1000) / n;
}
