import type { TdtRow } from "./tdt_greedy.ts";

/**
 * One greedy-TDT decoding call for many rows, with the decoder's data kept by the implementation
 * between calls: the encoder frames and the prediction-network states are handed over once per
 * batch (`begin`), and each call exchanges a few integers per row (which row, which frame, which
 * last token in; token and duration index out). The rules that need no model output — which rows
 * are active, where each frame moves — stay with the caller (tdt_greedy_step.ts).
 */
export interface DecodeStep {
  /** Takes the rows' frames and states for one decoding batch; the rows are not modified. */
  begin(rows: readonly TdtRow[]): DecodeStepBatch;
}

export interface DecodeStepOutput {
  /** Argmax over each row's token logits (blank included), [count]. */
  tokens: Int32Array;
  /** Argmax over each row's duration logits: an index into TdtSpec.durations, [count]. */
  durationIndex: Int32Array;
}

export interface DecodeStepBatch extends Disposable {
  /**
   * One joint call for `count` rows: row `rows[j]` (its index in `begin`'s list) at its frame
   * `frames[j]` after token `targets[j]`. A row keeps the new prediction-network state only when
   * its token is not blank. The returned arrays are reused by the next call. A call's rows are
   * the previous call's rows or some of them, in the same order (as the greedy loop's active
   * rows are: a row that finished never comes back).
   */
  step(count: number, rows: Int32Array, frames: Int32Array, targets: Int32Array): DecodeStepOutput;
  /** Each row's prediction-network states now, [layers, hidden] each. */
  states(): { state1: Float32Array; state2: Float32Array }[];
  close(): void;
}
