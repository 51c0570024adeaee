import type { TdtSpec } from "./joiner.ts";
import type { DecodeStep, DecodeStepBatch } from "./decode_step.ts";
import type { TdtRow, TdtRowResult } from "./tdt_greedy.ts";

/**
 * Greedy TDT decoding over a DecodeStep: the same rules as decodeTdtBatch (tdt_greedy.ts), with
 * the argmaxes and the state selection left to the step, so that per call only row indices go
 * in and token and duration indices come out. Token for token the same as decodeTdtBatch over
 * the same model (tests/decode/tdt_greedy_step_test.ts, tests/engine/decode_step_test.ts).
 */
export function decodeTdtBatchStepped(
  step: DecodeStep,
  spec: TdtSpec,
  rows: TdtRow[],
): TdtRowResult[] {
  const { blankId, durations, maxSymbolsPerFrame, encoderDim } = spec;
  const n = rows.length;
  const t = new Int32Array(n);
  const emitted = new Int32Array(n);
  const results: TdtRowResult[] = rows.map((row, i) => {
    if (row.frames.length < row.numFrames * encoderDim) {
      throw new RangeError(
        `TDT row ${i}: ${row.frames.length} values cannot hold ${row.numFrames} frames of ${encoderDim}`,
      );
    }
    t[i] = row.state.frameSkip;
    return {
      tokens: [],
      frames: [],
      durations: [],
      state: {
        lastToken: row.state.lastToken,
        state1: row.state.state1,
        state2: row.state.state2,
        frameSkip: 0,
      },
    };
  });

  const active = new Int32Array(n);
  const activeFrames = new Int32Array(n);
  const targets = new Int32Array(n);
  let batch: DecodeStepBatch | null = null;
  try {
    for (;;) {
      let m = 0;
      for (let i = 0; i < n; i++) {
        if (t[i] < rows[i].numFrames) {
          active[m] = i;
          activeFrames[m] = t[i];
          targets[m] = results[i].state.lastToken;
          m++;
        }
      }
      if (m === 0) break;
      // Begun only when there is something to decode: a batch of empty rows costs nothing.
      batch ??= step.begin(rows);
      const out = batch.step(m, active, activeFrames, targets);
      for (let j = 0; j < m; j++) {
        const i = active[j];
        const res = results[i];
        const token = out.tokens[j];
        const duration = durations[out.durationIndex[j]];
        if (token !== blankId) {
          res.tokens.push(token);
          res.frames.push(t[i]);
          res.durations.push(duration);
          res.state.lastToken = token;
          emitted[i]++;
        }
        if (duration > 0) {
          t[i] += duration;
          emitted[i] = 0;
        } else if (token === blankId || emitted[i] >= maxSymbolsPerFrame) {
          t[i] += 1;
          emitted[i] = 0;
        }
      }
    }
    const states = batch?.states();
    for (let i = 0; i < n; i++) {
      const s = results[i].state;
      // The input state is never the output state: the caller may keep and reuse both.
      s.state1 = states ? states[i].state1 : rows[i].state.state1.slice();
      s.state2 = states ? states[i].state2 : rows[i].state.state2.slice();
      s.frameSkip = t[i] - rows[i].numFrames;
    }
  } finally {
    batch?.close();
  }
  return results;
}
