import assert from "node:assert/strict";
import { argmax, decodeTdtBatch, type TdtRow } from "../../src/decode/tdt_greedy.ts";
import { cloneTdtState, initialTdtState, type TdtState } from "../../src/decode/tdt_state.ts";
import { framesFrom, rng, type Script, ScriptedJoiner, SPEC } from "./scripted_joiner.ts";

const BLANK = SPEC.blankId;

/** onnx-asr's `_AsrWithTransducerDecoding._decoding` loop, one row, transcribed literally. */
function referenceDecode(script: Script, numFrames: number) {
  const tokens: number[] = [];
  const timestamps: number[] = [];
  let t = 0;
  let emittedTokens = 0;
  while (t < numFrames) {
    const { token, duration: step } = script(t, tokens.length);
    if (token !== BLANK) {
      tokens.push(token);
      timestamps.push(t);
      emittedTokens += 1;
    }
    if (step > 0) {
      t += step;
      emittedTokens = 0;
    } else if (token === BLANK || emittedTokens === SPEC.maxSymbolsPerFrame) {
      t += 1;
      emittedTokens = 0;
    }
  }
  return { tokens, timestamps };
}

function randomScript(seed: number): Script {
  const table = new Map<string, { token: number; duration: number }>();
  const next = rng(seed);
  return (frame, emitted) => {
    const key = `${frame}:${emitted}`;
    let v = table.get(key);
    if (!v) {
      const r = next();
      v = {
        token: r < 0.45 ? BLANK : Math.floor(next() * 5),
        duration: SPEC.durations[Math.floor(next() * SPEC.durations.length)],
      };
      table.set(key, v);
    }
    return v;
  };
}

function row(first: number, n: number, state: TdtState = initialTdtState(SPEC)): TdtRow {
  return { frames: framesFrom(first, n), numFrames: n, state };
}

/** Decodes `total` frames in chunks of `chunk`, carrying the state; frames made absolute. */
function decodeChunked(script: Script, total: number, chunk: number) {
  const joiner = new ScriptedJoiner(script);
  let state = initialTdtState(SPEC);
  const tokens: number[] = [];
  const frames: number[] = [];
  for (let start = 0; start < total; start += chunk) {
    const n = Math.min(chunk, total - start);
    const [res] = decodeTdtBatch(joiner, SPEC, [row(start, n, state)]);
    tokens.push(...res.tokens);
    frames.push(...res.frames.map((f) => f + start));
    state = res.state;
  }
  return { tokens, frames };
}

Deno.test("decodeTdtBatch follows the scripted tokens and durations", () => {
  // frame 0: token 1 (dur 0), token 2 (dur 2) → frame 2: blank dur 1 → frame 3: token 3 dur 4.
  const script: Script = (f, e) => {
    if (f === 0) return e === 0 ? { token: 1, duration: 0 } : { token: 2, duration: 2 };
    if (f === 2) return { token: BLANK, duration: 1 };
    if (f === 3) return { token: 3, duration: 4 };
    return { token: BLANK, duration: 1 };
  };
  const [res] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(0, 8)]);
  assert.deepEqual(res.tokens, [1, 2, 3]);
  assert.deepEqual(res.frames, [0, 0, 3]);
  assert.deepEqual(res.durations, [0, 2, 4]);
  assert.equal(res.state.lastToken, 3);
  assert.equal(res.state.frameSkip, 0); // 3 + 4 = 7, then blank at 7 → 8 = end
});

Deno.test("decodeTdtBatch advances one frame on a blank predicted with duration 0", () => {
  const script: Script = () => ({ token: BLANK, duration: 0 });
  const joiner = new ScriptedJoiner(script);
  const [res] = decodeTdtBatch(joiner, SPEC, [row(0, 5)]);
  assert.deepEqual(res.tokens, []);
  assert.equal(joiner.calls.length, 5);
  assert.equal(res.state.lastToken, BLANK);
});

Deno.test("decodeTdtBatch caps tokens per frame at maxSymbolsPerFrame", () => {
  const script: Script = () => ({ token: 2, duration: 0 }); // a model stuck emitting
  const [res] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(0, 4)]);
  assert.equal(res.tokens.length, 4 * SPEC.maxSymbolsPerFrame);
  assert.deepEqual(res.frames, [0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3]);
});

Deno.test("decodeTdtBatch carries a duration that overshoots the chunk into the next one", () => {
  const script: Script = (f) => f === 1 ? { token: 4, duration: 4 } : { token: BLANK, duration: 1 };
  const [res] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(0, 3)]);
  assert.deepEqual(res.tokens, [4]);
  assert.equal(res.state.frameSkip, 2); // frame 1 + 4 = 5, chunk ends at 3
  const [next] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(3, 3, res.state)]);
  assert.equal(next.state.frameSkip, 0);
  assert.deepEqual(next.frames, []); // frames 3 and 4 skipped, frame 5 blank
});

Deno.test("decodeTdtBatch leaves the input state untouched", () => {
  const state = initialTdtState(SPEC);
  const before = cloneTdtState(state);
  decodeTdtBatch(new ScriptedJoiner(randomScript(1)), SPEC, [row(0, 20, state)]);
  assert.deepEqual(state, before);
});

Deno.test("decodeTdtBatch equals onnx-asr's loop on random scripts", () => {
  for (let seed = 1; seed <= 200; seed++) {
    const script = randomScript(seed);
    const n = 1 + (seed * 7) % 40;
    const expected = referenceDecode(script, n);
    const [res] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(0, n)]);
    assert.deepEqual(res.tokens, expected.tokens, `seed ${seed}`);
    assert.deepEqual(res.frames, expected.timestamps, `seed ${seed}`);
  }
});

Deno.test("decodeTdtBatch gives the same tokens chunked with carried state as in one piece", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const script = randomScript(seed);
    const whole = referenceDecode(script, 37);
    for (const chunk of [1, 2, 3, 5, 8, 37]) {
      const chunked = decodeChunked(script, 37, chunk);
      assert.deepEqual(chunked.tokens, whole.tokens, `seed ${seed} chunk ${chunk}`);
      assert.deepEqual(chunked.frames, whole.timestamps, `seed ${seed} chunk ${chunk}`);
    }
  }
});

Deno.test("decodeTdtBatch gives each row the tokens it gets alone, whatever its batch company", () => {
  const scripts = [1, 2, 3, 4, 5, 6].map((s) => randomScript(100 + s));
  const lengths = [12, 1, 30, 7, 0, 19];
  // Each row's frames carry ids offset by 1000·row so that one script serves each row.
  const batchScript: Script = (f, e) => scripts[Math.floor(f / 1000)](f % 1000, e);
  const joiner = new ScriptedJoiner(batchScript);
  const rows = lengths.map((n, r) => row(r * 1000, n));
  const together = decodeTdtBatch(joiner, SPEC, rows);
  for (let r = 0; r < rows.length; r++) {
    const alone = referenceDecode(scripts[r], lengths[r]);
    assert.deepEqual(together[r].tokens, alone.tokens, `row ${r}`);
    assert.deepEqual(together[r].frames, alone.timestamps, `row ${r}`);
  }
  // One call steps every row that still has frames: never more calls than the longest row needs.
  assert.ok(
    joiner.calls[0] === 5,
    `first call batches the 5 non-empty rows, got ${joiner.calls[0]}`,
  );
  assert.ok(joiner.calls.every((b, i) => i === 0 || b <= joiner.calls[i - 1]));
});

Deno.test("decodeTdtBatch rejects a joint output too short for the batch", () => {
  const bad = {
    join: () => ({
      logits: new Float32Array(3),
      state1: new Float32Array(8),
      state2: new Float32Array(8),
    }),
  };
  assert.throws(
    () => decodeTdtBatch(bad, SPEC, [row(0, 2)]),
    /joint output has 3 values, expected 1 rows of 11/,
  );
});

Deno.test("decodeTdtBatch rejects frames shorter than numFrames says", () => {
  const r = { frames: new Float32Array(3), numFrames: 2, state: initialTdtState(SPEC) };
  assert.throws(
    () => decodeTdtBatch(new ScriptedJoiner(randomScript(1)), SPEC, [r]),
    /3 values cannot hold 2 frames of 2/,
  );
});

Deno.test("argmax takes the first of equal maxima and never picks NaN", () => {
  assert.equal(argmax(new Float32Array([1, 3, 3, 2]), 0, 4), 1);
  assert.equal(argmax(new Float32Array([9, 1, 3, 3]), 1, 4), 1);
  assert.equal(argmax(new Float32Array([NaN, 1, 2]), 0, 3), 2);
  assert.equal(argmax(new Float32Array([1, NaN, 0]), 0, 3), 0);
});
