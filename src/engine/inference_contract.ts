/**
 * The contract between the stream layer and batch inference: what a batch asks for (windows of
 * features, and per stream the encoder frames to decode from its carried state) and what it
 * gets back. Types only; `runInference` (batch_inference.ts) is the implementation.
 */
import type { DecodeStep } from "../decode/decode_step.ts";
import type { Joiner, TdtSpec } from "../decode/joiner.ts";
import type { TdtRowResult } from "../decode/tdt_greedy.ts";
import type { TdtState } from "../decode/tdt_state.ts";
import type { EncoderOutput } from "../model/parakeet_model.ts";

/** What batch inference needs of a model (ParakeetModel, or a fake in tests). */
export interface InferenceModel {
  readonly featuresSize: number;
  readonly spec: TdtSpec;
  readonly joiner: Joiner;
  /** When present, decoding runs through it instead of `joiner` (same tokens, less copying). */
  readonly decodeStep?: DecodeStep;
  encode(features: Float32Array, batch: number, frames: number, lengths: number[]): EncoderOutput;
}

/** One encoder input: normalised features [featuresSize, columns], the first `valid` real. */
export interface InferenceWindow {
  features: Float32Array;
  columns: number;
  valid: number;
}

/** A run of one window's encoder frames that a row decodes. */
export interface RowPart {
  window: number;
  encoderOffset: number;
  encoderCount: number;
}

/**
 * One stream's work: the encoder frames of one or more consecutive chunks (each from its own
 * window), decoded in order from the stream's carried state.
 */
export interface InferenceRow {
  parts: RowPart[];
  state: TdtState;
  /** The stream this row belongs to (logs, test-only fault injection). */
  tag?: number;
  /**
   * Frames after the committed ones (a window's right context), decoded speculatively from the
   * state the committed part ends in; nothing of it is carried forward.
   */
  tentative?: RowPart;
}

/** A row's speculative tokens; frames relative to the tentative part's first frame. */
export interface TentativeResult {
  tokens: number[];
  frames: number[];
  durations: number[];
}

export interface InferenceRequest {
  windows: InferenceWindow[];
  rows: InferenceRow[];
}

export interface InferenceStats {
  encoderCalls: number;
  jointCalls: number;
  encodeMs: number;
  decodeMs: number;
}

export interface InferenceResult {
  rows: TdtRowResult[];
  /** Per row: its tentative tokens, or null when it asked for none. */
  tentative: (TentativeResult | null)[];
  stats: InferenceStats;
}
