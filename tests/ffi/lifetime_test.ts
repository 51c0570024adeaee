/**
 * Lifetimes under forced GC (the test task passes --v8-flags=--expose-gc): nothing freed while
 * in use, nothing leaked after churn.
 */
import assert from "node:assert/strict";
import { OrtRuntime, tensor } from "../../ffi/mod.ts";
import { nativeHandleStats } from "../../ffi/handle.ts";
import { fixture } from "./helpers.ts";

const gc = (globalThis as { gc?: () => void }).gc;
const collect = async () => {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 0)); // let FinalizationRegistry callbacks run
  }
};

Deno.test({
  name: "runAsync: feeds whose wrappers are gone stay alive until the run settles",
  ignore: gc === undefined,
  async fn() {
    using rt = OrtRuntime.load();
    using s = rt.createSession(fixture("loop.onnx"), { device: "cpu", intraOpThreads: 1 });
    const n = 1 << 16;
    // Nothing but the promise refers to the tensor or its array after this call.
    const run = (() =>
      s.runAsync({
        x: tensor("float32", [n], new Float32Array(n).fill(0.5)),
        iterations: tensor("int64", [], BigInt64Array.of(2000n)),
      }))();
    // Churn the heap with same-sized arrays while ORT reads x on another thread.
    for (let i = 0; i < 20; i++) {
      const garbage = new Float32Array(n).fill(123);
      void garbage;
      await collect();
    }
    const acc = (await run).acc.data as Float32Array;
    assert.equal(acc.length, n);
    assert.ok(acc.every((v) => v === 1000), "x was freed or overwritten during the run");
  },
});

Deno.test({
  name: "handles: thousands of sessions and tensors churned, live counts back to zero",
  ignore: gc === undefined,
  async fn() {
    await collect();
    const base = nativeHandleStats();
    const rssBefore = Deno.memoryUsage().rss;
    const rt = OrtRuntime.load();
    const x = tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4));
    for (let i = 0; i < 200; i++) {
      using s = rt.createSession(fixture("add.onnx"), { device: "cpu", intraOpThreads: 1 });
      for (let j = 0; j < 25; j++) s.run({ x, y: x });
      await s.runAsync({ x, y: x });
    }
    // Forgotten sessions: the FinalizationRegistry safety net releases them.
    for (let i = 0; i < 50; i++) rt.createSession(fixture("add.onnx"));
    rt.close();
    await collect();
    for (let i = 0; i < 20 && nativeHandleStats().session > base.session; i++) await collect();
    const after = nativeHandleStats();
    for (
      const k of ["env", "session", "sessionOptions", "value", "runOptions", "memoryInfo"] as const
    ) {
      assert.equal(after[k], base[k], `${k} handles leaked`);
    }
    assert.ok(after.finalized >= base.finalized + 50, "the safety net released forgotten sessions");
    const grownMb = (Deno.memoryUsage().rss - rssBefore) / 2 ** 20;
    assert.ok(grownMb < 200, `RSS grew by ${grownMb.toFixed(0)} MB over 250 sessions`);
  },
});

Deno.test({
  name: "handles: RSS stays bounded over 20,000 run cycles",
  ignore: gc === undefined,
  async fn() {
    using rt = OrtRuntime.load();
    using s = rt.createSession(fixture("joint_like.onnx"), { device: "cpu", intraOpThreads: 1 });
    const feeds = {
      encoder_outputs: tensor("float32", [4, 64, 1]),
      targets: tensor("int32", [4, 1]),
      target_length: tensor("int32", [4]),
      input_states_1: tensor("float32", [2, 4, 64]),
      input_states_2: tensor("float32", [2, 4, 64]),
    };
    for (let i = 0; i < 2000; i++) s.run(feeds); // warm up arenas
    await collect();
    const start = Deno.memoryUsage().rss;
    for (let i = 0; i < 20_000; i++) s.run(feeds);
    await collect();
    const grownMb = (Deno.memoryUsage().rss - start) / 2 ** 20;
    assert.ok(grownMb < 30, `RSS grew by ${grownMb.toFixed(1)} MB over 20,000 runs`);
    assert.equal(nativeHandleStats().value, 0);
  },
});

Deno.test("runtime: close waits for its sessions before releasing the env", () => {
  const base = nativeHandleStats().env;
  const rt = OrtRuntime.load();
  const s = rt.createSession(fixture("add.onnx"));
  rt.close();
  assert.equal(nativeHandleStats().env, base + 1, "env released under a live session");
  const x = tensor("float32", [1, 4]);
  assert.deepEqual(s.run({ x, y: x }).z.dims, [1, 4]);
  assert.throws(() => rt.createSession(fixture("add.onnx")), /OrtRuntime is closed/);
  s.close();
  assert.equal(nativeHandleStats().env, base);
});
