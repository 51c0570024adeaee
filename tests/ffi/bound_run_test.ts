import assert from "node:assert/strict";
import { OrtError, OrtRuntime, tensor } from "../../ffi/mod.ts";
import { fixture } from "./helpers.ts";

const rt = OrtRuntime.load();

Deno.test("bind: outputs land in the bound arrays; inputs are re-read after in-place writes", async () => {
  using s = rt.createSession(fixture("mixed.onnx"));
  const a = tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4));
  const doubled = tensor("float32", [1, 4]);
  const c = tensor("int64", [2], BigInt64Array.of(1n, 2n));
  const cPlus1 = tensor("int64", [2]);
  using bound = s.bind({ a, b: tensor("int32", [1]), c }, { doubled, c_plus_1: cPlus1 });
  bound.run();
  assert.deepEqual(doubled.data, Float32Array.of(2, 4, 6, 8));
  assert.deepEqual(cPlus1.data, BigInt64Array.of(2n, 3n));
  a.data.set([10, 20, 30, 40]);
  c.data[0] = 100n;
  await bound.runAsync();
  assert.deepEqual(doubled.data, Float32Array.of(20, 40, 60, 80));
  assert.deepEqual(cPlus1.data, BigInt64Array.of(101n, 3n));
});

Deno.test("bind: a preallocated output of the wrong shape is ORT's error", () => {
  using s = rt.createSession(fixture("add.onnx"));
  const x = tensor("float32", [1, 4]);
  using bound = s.bind({ x, y: x }, { z: tensor("float32", [1, 3]) });
  assert.throws(() => bound.run(), (e: unknown) => {
    assert.ok(e instanceof OrtError);
    assert.match(e.message, /shape|dimension|size/i);
    return true;
  });
});

Deno.test("bind: one run at a time; closed session refuses", async () => {
  const s = rt.createSession(fixture("loop.onnx"));
  const bound = s.bind(
    { x: tensor("float32", [2]), iterations: tensor("int64", [], BigInt64Array.of(1000n)) },
    { acc: tensor("float32", [2]) },
  );
  const p = bound.runAsync();
  assert.throws(() => bound.run(), /already running/);
  await p;
  s.close();
  assert.throws(() => bound.run(), /it is closed/);
  bound.close();
});
