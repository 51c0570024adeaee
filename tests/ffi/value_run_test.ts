/**
 * valueRun: sessions chained over ORT-owned values (ResidentValue) and caller arrays
 * (HostValue), sessions from ONNX bytes, and the transfer counters.
 */
import assert from "node:assert/strict";
import { nativeHandleStats, OrtError, OrtRuntime, tensor, transferStats } from "../../ffi/mod.ts";
import { fixture } from "./helpers.ts";

const rt = OrtRuntime.load();

Deno.test("valueRun: an ORT-allocated output feeds the next run without a copy; host arrays count", () => {
  using s = rt.createSession(fixture("add.onnx"));
  const liveBefore = nativeHandleStats().value;
  using x = s.hostValue("x", tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4)));
  using out = s.hostValue("z", tensor("float32", [1, 4]));
  const run = s.valueRun(["x", "y"], ["z"]);

  const before = transferStats();
  const [sum] = run.run([x, x], [null]); // z = 2x, left in ORT's memory
  assert.ok(sum);
  const [again] = run.run([sum, x], [null]); // z = 3x
  assert.ok(again);
  const [none] = run.run([again, again], [out]); // z = 6x, into the host array
  assert.equal(none, null);
  const after = transferStats();
  assert.deepEqual(out.data, Float32Array.of(6, 12, 18, 24));
  // x twice, then x once, then the output: 16 bytes each; the resident values cost nothing.
  assert.equal(after.toOrt - before.toOrt, 48);
  assert.equal(after.fromOrt - before.fromOrt, 16);
  assert.equal(after.runs - before.runs, 3);

  assert.deepEqual(again.read("z").data, Float32Array.of(3, 6, 9, 12));
  sum.close();
  again.close();
  assert.equal(nativeHandleStats().value, liveBefore + 2); // x and out
});

Deno.test("valueRun: allocate and write a resident value; a failed run leaves nothing behind", () => {
  using s = rt.createSession(fixture("add.onnx"));
  using a = s.allocate("float32", [1, 4]);
  assert.deepEqual(a.read().data, new Float32Array(4));
  a.write(Float32Array.of(5, 6, 7, 8));
  assert.throws(() => a.write(new Float32Array(3)), RangeError);
  const run = s.valueRun(["x", "y"], ["z"]);
  const [z] = run.run([a, a], [null]);
  assert.deepEqual(z!.read().data, Float32Array.of(10, 12, 14, 16));
  z!.close();

  using wrong = s.allocate("float32", [1, 3]);
  const live = nativeHandleStats().value;
  assert.throws(() => run.run([a, wrong], [null]), OrtError);
  assert.equal(nativeHandleStats().value, live);
  assert.throws(() => run.run([a], [null]), /takes 2 inputs and 1 outputs/);
});

Deno.test("createSessionFromBytes loads a model from memory; bad bytes are ORT's error", () => {
  using s = rt.createSessionFromBytes(Deno.readFileSync(fixture("add.onnx")), "add (bytes)");
  assert.equal(s.path, "add (bytes)");
  const out = s.run({
    x: tensor("float32", [1, 4], Float32Array.of(1, 1, 1, 1)),
    y: tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4)),
  });
  assert.deepEqual(out.z.data, Float32Array.of(2, 3, 4, 5));
  assert.throws(
    () => rt.createSessionFromBytes(new Uint8Array([1, 2, 3]), "garbage"),
    (e: unknown) => e instanceof OrtError && /garbage/.test(e.message),
  );
});

Deno.test("bind counts every bound array per run", () => {
  using s = rt.createSession(fixture("add.onnx"));
  const x = tensor("float32", [1, 4]);
  using bound = s.bind({ x, y: x }, { z: tensor("float32", [1, 4]) });
  const before = transferStats();
  bound.run();
  bound.run();
  const after = transferStats();
  assert.equal(after.toOrt - before.toOrt, 64);
  assert.equal(after.fromOrt - before.fromOrt, 32);
});
