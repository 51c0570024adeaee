import type { Joiner, TdtSpec } from "../decode/joiner.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../decode/tdt_greedy.ts";
import type { TdtState } from "../decode/tdt_state.ts";
import type { EncoderOutput } from "../model/parakeet_model.ts";

/** What batch inference needs of a model (ParakeetModel, or a fake in tests). */
export interface InferenceModel {
  readonly featuresSize: number;
  readonly spec: TdtSpec;
  readonly joiner: Joiner;
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
  stats: InferenceStats;
}

/**
 * Runs one batch: windows of equal length share one encoder call (windows are never padded to
 * each other's length, so a stream's encoder output — and so its tokens — cannot depend on
 * which other streams share the batch); then every row is decoded in one batched TDT loop.
 */
export function runInference(model: InferenceModel, req: InferenceRequest): InferenceResult {
  const t0 = performance.now();
  const { featuresSize } = model;
  const dim = model.spec.encoderDim;
  const groups = new Map<string, number[]>();
  req.windows.forEach((w, i) => {
    if (w.features.length !== featuresSize * w.columns || w.valid > w.columns || w.valid < 1) {
      throw new RangeError(
        `window ${i}: ${w.features.length} values for ${featuresSize} × ${w.columns} columns (${w.valid} valid)`,
      );
    }
    const key = `${w.columns}:${w.valid}`;
    const list = groups.get(key);
    if (list) list.push(i);
    else groups.set(key, [i]);
  });

  // Per window: its encoder output and its row within it.
  const encoded: { out: EncoderOutput; row: number }[] = new Array(req.windows.length);
  let encoderCalls = 0;
  for (const members of groups.values()) {
    const { columns, valid } = req.windows[members[0]];
    const size = featuresSize * columns;
    const batch = new Float32Array(members.length * size);
    members.forEach((w, b) => batch.set(req.windows[w].features, b * size));
    const out = model.encode(batch, members.length, columns, members.map(() => valid));
    encoderCalls++;
    members.forEach((w, b) => (encoded[w] = { out, row: b }));
  }
  const t1 = performance.now();

  const rows: TdtRow[] = req.rows.map((r) => {
    const total = r.parts.reduce((n, p) => n + p.encoderCount, 0);
    const frames = new Float32Array(total * dim);
    let at = 0;
    for (const p of r.parts) {
      const { out, row } = encoded[p.window];
      if (p.encoderOffset < 0 || p.encoderOffset + p.encoderCount > out.lengths[row]) {
        throw new RangeError(
          `row part [${p.encoderOffset}, +${p.encoderCount}) is outside the window's ${
            out.lengths[row]
          } encoder frames`,
        );
      }
      // [batch, dim, frames] → frame-major [frames, dim] for the decoder.
      const base = row * dim * out.frames;
      for (let t = 0; t < p.encoderCount; t++, at++) {
        const src = base + p.encoderOffset + t;
        const dst = at * dim;
        for (let d = 0; d < dim; d++) frames[dst + d] = out.data[src + d * out.frames];
      }
    }
    return { frames, numFrames: total, state: r.state };
  });

  let jointCalls = 0;
  const counting: Joiner = {
    join: (input) => {
      jointCalls++;
      return model.joiner.join(input);
    },
  };
  const results = decodeTdtBatch(counting, model.spec, rows);
  const t2 = performance.now();
  return {
    rows: results,
    stats: { encoderCalls, jointCalls, encodeMs: t1 - t0, decodeMs: t2 - t1 },
  };
}
