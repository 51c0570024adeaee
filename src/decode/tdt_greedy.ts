import type { Joiner, TdtSpec } from "./joiner.ts";
import type { TdtState } from "./tdt_state.ts";

/** One stream's share of a decoding batch: its new encoder frames and its carried state. */
export interface TdtRow {
  /** Encoder frames to decode, frame-major [numFrames, encoderDim]. */
  frames: Float32Array;
  numFrames: number;
  state: TdtState;
}

export interface TdtRowResult {
  tokens: number[];
  /** Frame of each token, relative to the row's first frame. */
  frames: number[];
  /** Duration (in frames) predicted with each token. */
  durations: number[];
  /** State to carry into the row's next chunk. The input state is left untouched. */
  state: TdtState;
}

/**
 * Greedy TDT decoding of many streams at once: every loop iteration makes one joint call for
 * all rows that still have frames. The rules are NeMo's (and onnx-asr's): argmax over token
 * logits (blank included) and over duration logits; a non-blank token advances the prediction
 * network; the frame moves by the predicted duration, and by one when a blank comes with
 * duration 0 or when `maxSymbolsPerFrame` tokens were emitted on one frame. The forced advance
 * guarantees termination whatever the logits say.
 */
export function decodeTdtBatch(joiner: Joiner, spec: TdtSpec, rows: TdtRow[]): TdtRowResult[] {
  const { blankId, numClasses, durations, maxSymbolsPerFrame, encoderDim } = spec;
  const hidden = spec.stateHidden;
  const layers = spec.stateLayers;
  const width = numClasses + durations.length;
  const n = rows.length;

  const results: TdtRowResult[] = rows.map((row) => ({
    tokens: [],
    frames: [],
    durations: [],
    state: {
      lastToken: row.state.lastToken,
      state1: row.state.state1.slice(),
      state2: row.state.state2.slice(),
      frameSkip: 0,
    },
  }));
  const t = new Int32Array(n);
  const emitted = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    if (rows[i].frames.length < rows[i].numFrames * encoderDim) {
      throw new RangeError(
        `TDT row ${i}: ${rows[i].frames.length} values cannot hold ${
          rows[i].numFrames
        } frames of ${encoderDim}`,
      );
    }
    t[i] = rows[i].state.frameSkip;
  }

  // Buffers sized for the whole batch once; each call uses a prefix for the active rows.
  const active = new Int32Array(n);
  const encBuf = new Float32Array(n * encoderDim);
  const tgtBuf = new Int32Array(n);
  const s1Buf = new Float32Array(layers * n * hidden);
  const s2Buf = new Float32Array(layers * n * hidden);

  for (;;) {
    let m = 0;
    for (let i = 0; i < n; i++) if (t[i] < rows[i].numFrames) active[m++] = i;
    if (m === 0) break;

    for (let j = 0; j < m; j++) {
      const i = active[j];
      const start = t[i] * encoderDim;
      encBuf.set(rows[i].frames.subarray(start, start + encoderDim), j * encoderDim);
      tgtBuf[j] = results[i].state.lastToken;
      packState(results[i].state.state1, s1Buf, layers, m, j, hidden);
      packState(results[i].state.state2, s2Buf, layers, m, j, hidden);
    }
    const out = joiner.join({
      batch: m,
      encoderFrames: encBuf.subarray(0, m * encoderDim),
      targets: tgtBuf.subarray(0, m),
      state1: s1Buf.subarray(0, layers * m * hidden),
      state2: s2Buf.subarray(0, layers * m * hidden),
    });
    if (out.logits.length < m * width) {
      throw new RangeError(
        `joint output has ${out.logits.length} values, expected ${m} rows of ${width}`,
      );
    }

    for (let j = 0; j < m; j++) {
      const i = active[j];
      const res = results[i];
      const base = j * width;
      const token = argmax(out.logits, base, base + numClasses);
      const step = durations[argmax(out.logits, base + numClasses, base + width)];
      if (token !== blankId) {
        res.tokens.push(token);
        res.frames.push(t[i]);
        res.durations.push(step);
        res.state.lastToken = token;
        unpackState(out.state1, res.state.state1, layers, m, j, hidden);
        unpackState(out.state2, res.state.state2, layers, m, j, hidden);
        emitted[i]++;
      }
      if (step > 0) {
        t[i] += step;
        emitted[i] = 0;
      } else if (token === blankId || emitted[i] >= maxSymbolsPerFrame) {
        t[i] += 1;
        emitted[i] = 0;
      }
    }
  }

  for (let i = 0; i < n; i++) results[i].state.frameSkip = t[i] - rows[i].numFrames;
  return results;
}

/** Index of the first maximum in values[from, to): ties go to the lowest index, as numpy's. */
export function argmax(values: Float32Array, from: number, to: number): number {
  let best = from;
  let bestValue = values[from];
  for (let k = from + 1; k < to; k++) {
    // `>` keeps the first of equal values; NaN never wins, so garbage cannot pick a token.
    if (values[k] > bestValue || (bestValue !== bestValue && values[k] === values[k])) {
      best = k;
      bestValue = values[k];
    }
  }
  return best - from;
}

function packState(
  row: Float32Array,
  batched: Float32Array,
  layers: number,
  batch: number,
  j: number,
  hidden: number,
): void {
  for (let l = 0; l < layers; l++) {
    batched.set(row.subarray(l * hidden, (l + 1) * hidden), (l * batch + j) * hidden);
  }
}

function unpackState(
  batched: Float32Array,
  row: Float32Array,
  layers: number,
  batch: number,
  j: number,
  hidden: number,
): void {
  for (let l = 0; l < layers; l++) {
    const from = (l * batch + j) * hidden;
    row.set(batched.subarray(from, from + hidden), l * hidden);
  }
}
