import type { TdtSpec } from "./joiner.ts";

/**
 * What a stream carries from one decoding step to the next. A partial hypothesis is extended
 * from here, never recomputed.
 */
export interface TdtState {
  /** Last emitted token, or the blank id before the first one. */
  lastToken: number;
  /** LSTM states *before* consuming `lastToken`, [layers, hidden] each. */
  state1: Float32Array;
  state2: Float32Array;
  /**
   * Frames still to skip at the start of the next chunk: a TDT duration can jump past the end
   * of the frames decoded so far, and the overshoot lands in the next chunk.
   */
  frameSkip: number;
}

export function initialTdtState(spec: TdtSpec): TdtState {
  const size = spec.stateLayers * spec.stateHidden;
  return {
    lastToken: spec.blankId,
    state1: new Float32Array(size),
    state2: new Float32Array(size),
    frameSkip: 0,
  };
}

export function cloneTdtState(state: TdtState): TdtState {
  return {
    lastToken: state.lastToken,
    state1: state.state1.slice(),
    state2: state.state2.slice(),
    frameSkip: state.frameSkip,
  };
}
