import { mulberry32 } from "../../src/bench/seeded_random.ts";
import type { Joiner, JoinInput, JoinOutput, TdtSpec } from "../../src/decode/joiner.ts";

/** What the scripted model says on frame `frameId` after `emittedSoFar` tokens. */
export type Script = (frameId: number, emittedSoFar: number) => { token: number; duration: number };

export const SPEC: TdtSpec = {
  numClasses: 6, // tokens 0..4, blank 5
  blankId: 5,
  durations: [0, 1, 2, 3, 4],
  maxSymbolsPerFrame: 3,
  encoderDim: 2,
  stateLayers: 2,
  stateHidden: 2,
};

/**
 * A fake joiner whose "model" is a script. Frame vectors carry a frame id in element 0; the LSTM
 * state carries the number of tokens consumed in element 0 of layer 0. It is stateless between
 * calls like the real joint, so batching and chunking must not change its answers.
 */
export class ScriptedJoiner implements Joiner {
  calls: number[] = [];
  constructor(private readonly script: Script, private readonly spec: TdtSpec = SPEC) {}

  join(input: JoinInput): JoinOutput {
    const { batch } = input;
    const { numClasses, durations, encoderDim, stateLayers: layers, stateHidden: hidden } =
      this.spec;
    this.calls.push(batch);
    const width = numClasses + durations.length;
    const logits = new Float32Array(batch * width).fill(-1);
    const state1 = input.state1.slice();
    const state2 = input.state2.slice();
    for (let b = 0; b < batch; b++) {
      const frameId = input.encoderFrames[b * encoderDim];
      // The input state is the one before consuming the target, so it has counted exactly the
      // tokens emitted before this call.
      const consumed = input.state1[b * hidden];
      const { token, duration } = this.script(frameId, consumed);
      logits[b * width + token] = 5;
      logits[b * width + numClasses + durations.indexOf(duration)] = 5;
      const next = consumed + 1;
      for (let l = 0; l < layers; l++) {
        state1[(l * batch + b) * hidden] = next;
        state2[(l * batch + b) * hidden + 1] = input.targets[b];
      }
    }
    return { logits, state1, state2 };
  }
}

/** Frame-major [n, 2] frames whose ids are first, first+1, … */
export function framesFrom(first: number, n: number): Float32Array {
  const frames = new Float32Array(n * SPEC.encoderDim);
  for (let i = 0; i < n; i++) frames[i * SPEC.encoderDim] = first + i;
  return frames;
}

/** A seeded PRNG (mulberry32) so random scripts are reproducible. */
export const rng = mulberry32;
