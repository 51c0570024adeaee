import type { DecodeStep, DecodeStepBatch, DecodeStepOutput } from "./decode_step.ts";
import type { Joiner, TdtSpec } from "./joiner.ts";
import { argmax, type TdtRow } from "./tdt_greedy.ts";

/**
 * A DecodeStep over any Joiner, with everything on the host: per call it packs the rows'
 * frames and states, reads back all logits and scans them in TypeScript — what decodeTdtBatch
 * does inline. It lets the stepped loop run on scripted joiners in tests, and is the
 * reference the resident step is compared with.
 */
export class JoinerDecodeStep implements DecodeStep {
  #joiner: Joiner;
  #spec: TdtSpec;

  constructor(joiner: Joiner, spec: TdtSpec) {
    this.#joiner = joiner;
    this.#spec = spec;
  }

  begin(rows: readonly TdtRow[]): DecodeStepBatch {
    return new JoinerDecodeStepBatch(this.#joiner, this.#spec, rows);
  }
}

class JoinerDecodeStepBatch implements DecodeStepBatch {
  #joiner: Joiner;
  #spec: TdtSpec;
  #rows: readonly TdtRow[];
  #states: { state1: Float32Array; state2: Float32Array }[];
  #enc: Float32Array;
  #s1: Float32Array;
  #s2: Float32Array;
  #out: DecodeStepOutput;

  constructor(joiner: Joiner, spec: TdtSpec, rows: readonly TdtRow[]) {
    this.#joiner = joiner;
    this.#spec = spec;
    this.#rows = rows;
    this.#states = rows.map((r) => ({
      state1: r.state.state1.slice(),
      state2: r.state.state2.slice(),
    }));
    const n = rows.length;
    const stateSize = spec.stateLayers * n * spec.stateHidden;
    this.#enc = new Float32Array(n * spec.encoderDim);
    this.#s1 = new Float32Array(stateSize);
    this.#s2 = new Float32Array(stateSize);
    this.#out = { tokens: new Int32Array(n), durationIndex: new Int32Array(n) };
  }

  step(m: number, rows: Int32Array, frames: Int32Array, targets: Int32Array): DecodeStepOutput {
    const { encoderDim, stateLayers: layers, stateHidden: hidden, numClasses, blankId } =
      this.#spec;
    const width = numClasses + this.#spec.durations.length;
    for (let j = 0; j < m; j++) {
      const i = rows[j];
      const start = frames[j] * encoderDim;
      this.#enc.set(this.#rows[i].frames.subarray(start, start + encoderDim), j * encoderDim);
      for (let l = 0; l < layers; l++) {
        const to = (l * m + j) * hidden;
        this.#s1.set(this.#states[i].state1.subarray(l * hidden, (l + 1) * hidden), to);
        this.#s2.set(this.#states[i].state2.subarray(l * hidden, (l + 1) * hidden), to);
      }
    }
    const out = this.#joiner.join({
      batch: m,
      encoderFrames: this.#enc.subarray(0, m * encoderDim),
      targets: targets.subarray(0, m),
      state1: this.#s1.subarray(0, layers * m * hidden),
      state2: this.#s2.subarray(0, layers * m * hidden),
    });
    if (out.logits.length < m * width) {
      throw new RangeError(
        `joint output has ${out.logits.length} values, expected ${m} rows of ${width}`,
      );
    }
    for (let j = 0; j < m; j++) {
      const base = j * width;
      const token = argmax(out.logits, base, base + numClasses);
      this.#out.tokens[j] = token;
      this.#out.durationIndex[j] = argmax(out.logits, base + numClasses, base + width);
      if (token === blankId) continue;
      const i = rows[j];
      for (let l = 0; l < layers; l++) {
        const from = (l * m + j) * hidden;
        this.#states[i].state1.set(out.state1.subarray(from, from + hidden), l * hidden);
        this.#states[i].state2.set(out.state2.subarray(from, from + hidden), l * hidden);
      }
    }
    return this.#out;
  }

  states(): { state1: Float32Array; state2: Float32Array }[] {
    return this.#states;
  }

  close(): void {}

  [Symbol.dispose](): void {
    this.close();
  }
}
