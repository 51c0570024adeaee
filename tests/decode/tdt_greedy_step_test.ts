/**
 * The stepped greedy loop (tdt_greedy_step.ts) against decodeTdtBatch on scripted joints: a
 * JoinerDecodeStep over the same ScriptedJoiner must give the same tokens, frames, durations,
 * carried states and joint-call batch sizes, alone, batched and chunked.
 */
import assert from "node:assert/strict";
import { JoinerDecodeStep } from "../../src/decode/joiner_decode_step.ts";
import { decodeTdtBatch, type TdtRow, type TdtRowResult } from "../../src/decode/tdt_greedy.ts";
import { decodeTdtBatchStepped } from "../../src/decode/tdt_greedy_step.ts";
import { cloneTdtState, initialTdtState, type TdtState } from "../../src/decode/tdt_state.ts";
import { framesFrom, rng, type Script, ScriptedJoiner, SPEC } from "./scripted_joiner.ts";

function randomScript(seed: number): Script {
  const table = new Map<string, { token: number; duration: number }>();
  const next = rng(seed);
  return (frame, emitted) => {
    const key = `${frame}:${emitted}`;
    let v = table.get(key);
    if (!v) {
      v = {
        token: next() < 0.45 ? SPEC.blankId : Math.floor(next() * 5),
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

function assertSame(a: TdtRowResult[], b: TdtRowResult[], what: string): void {
  assert.deepEqual(
    b.map((r) => [r.tokens, r.frames, r.durations]),
    a.map((r) => [r.tokens, r.frames, r.durations]),
    what,
  );
  assert.deepEqual(b.map((r) => r.state), a.map((r) => r.state), `${what}: states`);
}

Deno.test("decodeTdtBatchStepped equals decodeTdtBatch on random scripts, alone and batched", () => {
  for (let seed = 1; seed <= 100; seed++) {
    const script = randomScript(seed);
    const n = 1 + (seed * 7) % 40;
    const host = new ScriptedJoiner(script);
    const stepped = new ScriptedJoiner(script);
    assertSame(
      decodeTdtBatch(host, SPEC, [row(0, n)]),
      decodeTdtBatchStepped(new JoinerDecodeStep(stepped, SPEC), SPEC, [row(0, n)]),
      `seed ${seed}`,
    );
    assert.deepEqual(stepped.calls, host.calls, `seed ${seed}: calls`);
  }
  const scripts = [1, 2, 3, 4, 5, 6].map((s) => randomScript(100 + s));
  const batchScript: Script = (f, e) => scripts[Math.floor(f / 1000)](f % 1000, e);
  const rows = () => [12, 1, 30, 7, 0, 19].map((n, r) => row(r * 1000, n));
  const host = new ScriptedJoiner(batchScript);
  const stepped = new ScriptedJoiner(batchScript);
  assertSame(
    decodeTdtBatch(host, SPEC, rows()),
    decodeTdtBatchStepped(new JoinerDecodeStep(stepped, SPEC), SPEC, rows()),
    "batched",
  );
  assert.deepEqual(stepped.calls, host.calls, "batched: calls");
});

Deno.test("decodeTdtBatchStepped carries state across chunks as decodeTdtBatch does", () => {
  for (let seed = 1; seed <= 40; seed++) {
    const script = randomScript(seed);
    for (const chunk of [1, 2, 3, 5, 8]) {
      let a = initialTdtState(SPEC);
      let b = initialTdtState(SPEC);
      for (let start = 0; start < 37; start += chunk) {
        const n = Math.min(chunk, 37 - start);
        const [ra] = decodeTdtBatch(new ScriptedJoiner(script), SPEC, [row(start, n, a)]);
        const step = new JoinerDecodeStep(new ScriptedJoiner(script), SPEC);
        const [rb] = decodeTdtBatchStepped(step, SPEC, [row(start, n, b)]);
        assertSame([ra], [rb], `seed ${seed} chunk ${chunk} at ${start}`);
        a = ra.state;
        b = rb.state;
      }
    }
  }
});

Deno.test("decodeTdtBatchStepped leaves the input state untouched and never returns it", () => {
  const state = initialTdtState(SPEC);
  const before = cloneTdtState(state);
  const step = new JoinerDecodeStep(new ScriptedJoiner(randomScript(1)), SPEC);
  const [res] = decodeTdtBatchStepped(step, SPEC, [row(0, 20, state)]);
  assert.deepEqual(state, before);
  assert.notEqual(res.state.state1, state.state1);
  const [empty] = decodeTdtBatchStepped(step, SPEC, [row(0, 0, state)]);
  assert.notEqual(empty.state.state1, state.state1);
  assert.deepEqual(empty.state, before);
});

Deno.test("decodeTdtBatchStepped rejects what decodeTdtBatch rejects", () => {
  const r = { frames: new Float32Array(3), numFrames: 2, state: initialTdtState(SPEC) };
  const step = new JoinerDecodeStep(new ScriptedJoiner(randomScript(1)), SPEC);
  assert.throws(() => decodeTdtBatchStepped(step, SPEC, [r]), /3 values cannot hold 2 frames of 2/);
  const bad = {
    join: () => ({
      logits: new Float32Array(3),
      state1: new Float32Array(8),
      state2: new Float32Array(8),
    }),
  };
  assert.throws(
    () => decodeTdtBatchStepped(new JoinerDecodeStep(bad, SPEC), SPEC, [row(0, 2)]),
    /joint output has 3 values, expected 1 rows of 11/,
  );
});
