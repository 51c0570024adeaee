import type { DecodeStep } from "../decode/decode_step.ts";
import type { Joiner } from "../decode/joiner.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../decode/tdt_greedy.ts";
import { decodeTdtBatchStepped } from "../decode/tdt_greedy_step.ts";
import { ModelOutputError } from "../model/ort_joiner.ts";
import type { EncoderOutput } from "../model/parakeet_model.ts";
import type {
  InferenceModel,
  InferenceRequest,
  InferenceResult,
  RowPart,
  TentativeResult,
} from "./inference_contract.ts";

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
    if (out.data.length !== out.batch * out.dim * out.frames || out.batch !== members.length) {
      throw new ModelOutputError(
        `encoder returned ${out.data.length} values for dims [${out.batch}, ${out.dim}, ${out.frames}] (batch of ${members.length})`,
      );
    }
    encoderCalls++;
    members.forEach((w, b) => (encoded[w] = { out, row: b }));
  }
  const t1 = performance.now();

  const rows: TdtRow[] = req.rows.map((r) => {
    const frames = gatherFrames(r.parts, encoded, dim);
    return { frames, numFrames: frames.length / dim, state: r.state };
  });

  let jointCalls = 0;
  const counting: Joiner = {
    join: (input) => {
      jointCalls++;
      return model.joiner.join(input);
    },
  };
  const step = model.decodeStep;
  const countingStep: DecodeStep | undefined = step && {
    begin: (batchRows) => {
      const batch = step.begin(batchRows);
      return {
        step: (m, r, f, t) => {
          jointCalls++;
          return batch.step(m, r, f, t);
        },
        states: () => batch.states(),
        close: () => batch.close(),
        [Symbol.dispose]: () => batch.close(),
      };
    },
  };
  // Both paths give the same tokens. A lone row stays on the copying path: there the resident
  // step's bindings cost more per call than copying one row (bench/decode_step.ts).
  const decode = (batchRows: TdtRow[]): TdtRowResult[] =>
    countingStep && batchRows.length > 1
      ? decodeTdtBatchStepped(countingStep, model.spec, batchRows)
      : decodeTdtBatch(counting, model.spec, batchRows);
  const results = decode(rows);

  // Speculative pass over the right contexts, from the committed states, in one more batch.
  const tentative: (TentativeResult | null)[] = req.rows.map(() => null);
  const specRows: TdtRow[] = [];
  const specOf: number[] = [];
  req.rows.forEach((r, i) => {
    if (!r.tentative || r.tentative.encoderCount < 1) return;
    const frames = gatherFrames([r.tentative], encoded, dim);
    specRows.push({ frames, numFrames: frames.length / dim, state: results[i].state });
    specOf.push(i);
  });
  if (specRows.length > 0) {
    decode(specRows).forEach((r, k) => {
      tentative[specOf[k]] = { tokens: r.tokens, frames: r.frames, durations: r.durations };
    });
  }
  const t2 = performance.now();
  return {
    rows: results,
    tentative,
    stats: { encoderCalls, jointCalls, encodeMs: t1 - t0, decodeMs: t2 - t1 },
  };
}

/** The encoder frames of `parts`, in order, frame-major [frames, dim] for the decoder. */
function gatherFrames(
  parts: RowPart[],
  encoded: { out: EncoderOutput; row: number }[],
  dim: number,
): Float32Array {
  const total = parts.reduce((n, p) => n + p.encoderCount, 0);
  const frames = new Float32Array(total * dim);
  let at = 0;
  for (const p of parts) {
    const { out, row } = encoded[p.window];
    if (p.encoderOffset < 0 || p.encoderOffset + p.encoderCount > out.lengths[row]) {
      throw new RangeError(
        `row part [${p.encoderOffset}, +${p.encoderCount}) is outside the window's ${
          out.lengths[row]
        } encoder frames`,
      );
    }
    // [batch, dim, frames] → frame-major [frames, dim].
    const base = row * dim * out.frames;
    for (let t = 0; t < p.encoderCount; t++, at++) {
      const src = base + p.encoderOffset + t;
      const dst = at * dim;
      for (let d = 0; d < dim; d++) frames[dst + d] = out.data[src + d * out.frames];
    }
  }
  return frames;
}
