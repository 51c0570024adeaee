/**
 * IoBinding: inputs and outputs bound by name, outputs left in the session's device memory (CPU
 * memory here: the same calls as on CUDA), rebinding, release on every path, ORT's errors.
 */
import assert from "node:assert/strict";
import { nativeHandleStats, OrtError, OrtRuntime, tensor, transferStats } from "../../ffi/mod.ts";
import { fixture } from "./helpers.ts";

const rt = OrtRuntime.load();

Deno.test("ioBinding: device outputs feed the next run as inputs; host arrays count their bytes", () => {
  using s = rt.createSession(fixture("add.onnx"));
  const before = nativeHandleStats();
  {
    using device = s.memoryInfo("device");
    assert.equal(device.device, "cpu");
    using binding = s.ioBinding();
    using x = s.hostValue("x", tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4)));
    binding.bindInput("x", x);
    binding.bindInput("y", x);
    binding.bindOutputTo("z", device);
    const counted = transferStats();
    binding.run();
    const after = transferStats();
    assert.equal(after.toOrt - counted.toOrt, 32); // x bound twice
    assert.equal(after.fromOrt - counted.fromOrt, 0); // z stays in ORT
    assert.equal(after.runs - counted.runs, 1);
    assert.deepEqual(binding.outputNames, ["z"]);
    const [sum] = binding.outputs(); // 2x
    assert.deepEqual(sum.read("z").data, Float32Array.of(2, 4, 6, 8));

    // Rebinding: the first output as an input, a fresh device output, then a host output.
    binding.bindInput("y", sum);
    binding.bindOutputTo("z", device);
    binding.run();
    const [triple] = binding.outputs(); // 3x
    assert.deepEqual(triple.read().data, Float32Array.of(3, 6, 9, 12));
    assert.deepEqual(sum.read().data, Float32Array.of(2, 4, 6, 8), "not overwritten");

    using out = s.hostValue("z", tensor("float32", [1, 4]));
    binding.bindInput("x", triple);
    binding.bindOutput("z", out);
    binding.run();
    assert.deepEqual(out.data, Float32Array.of(5, 10, 15, 20));
    const [again] = binding.outputs();
    assert.deepEqual(again.read().data, Float32Array.of(5, 10, 15, 20));
    for (const v of [sum, triple, again]) v.close();

    binding.clearOutputs();
    assert.deepEqual(binding.outputNames, []);
    assert.deepEqual(binding.outputs(), []);
    binding.clearInputs();
    binding.synchronizeInputs();
    binding.synchronizeOutputs();
  }
  const after = nativeHandleStats();
  for (const k of ["value", "memoryInfo", "ioBinding"] as const) {
    assert.equal(after[k], before[k], k);
  }
});

Deno.test("ioBinding: ORT's errors surface as OrtError and leave nothing behind", () => {
  using s = rt.createSession(fixture("add.onnx"));
  const before = nativeHandleStats();
  {
    using binding = s.ioBinding();
    using device = s.memoryInfo("device");
    using x = s.hostValue("x", tensor("float32", [1, 4]));
    using short = s.hostValue("y", tensor("float32", [1, 3]));
    assert.throws(() => binding.bindInput("nope", x), (e) => {
      assert.ok(e instanceof OrtError);
      assert.match(e.message, /BindInput\(nope\)/);
      return true;
    });
    // A failed bind starts the inputs over, so the binding stays usable.
    binding.bindInput("x", x);
    binding.bindInput("y", short);
    binding.bindOutputTo("z", device);
    assert.throws(() => binding.run(), OrtError);
    binding.clearInputs();
    binding.bindInput("x", x);
    // y is missing now.
    assert.throws(() => binding.run(), OrtError);
    for (const v of binding.outputs()) v.close();
  }
  const after = nativeHandleStats();
  for (const k of ["value", "memoryInfo", "ioBinding"] as const) {
    assert.equal(after[k], before[k], k);
  }
});

Deno.test("ioBinding: closed session and closed binding are refused; close is idempotent", () => {
  const s = rt.createSession(fixture("add.onnx"));
  const binding = s.ioBinding();
  binding.close();
  binding.close();
  assert.throws(() => binding.run(), /ioBinding is already closed/);
  const open = s.ioBinding();
  s.close();
  assert.throws(() => open.run(), /closed/);
  assert.throws(() => s.ioBinding(), /closed/);
  open.close();
  assert.throws(() => s.memoryInfo("device", -1), RangeError);
});

Deno.test("memoryInfo: CUDA memory for a CPU session is ORT's error, never a CPU fallback", () => {
  using s = rt.createSession(fixture("add.onnx"));
  using x = s.hostValue("x", tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4)));
  using binding = s.ioBinding();
  using cuda = s.memoryInfo("cuda");
  assert.equal(cuda.device, "cuda");
  assert.equal(s.deviceId, 0);
  assert.equal(cuda.deviceId, 0, "the session's CUDA device unless named");
  using second = s.memoryInfo("cuda", 2);
  assert.equal(second.deviceId, 2);
  binding.bindInput("x", x);
  binding.bindInput("y", x);
  const before = nativeHandleStats().value;
  // ORT itself would run and leave z in CPU memory: the binding refuses instead.
  assert.throws(() => binding.bindOutputTo("z", cuda), (e) => {
    assert.ok(e instanceof OrtError, String(e));
    assert.equal(e.code, "INVALID_ARGUMENT");
    assert.match(e.message, /BindOutputToDevice\(z, cuda:0\).*runs on the cpu.*cuda memory/);
    return true;
  });
  using host = s.memoryInfo("cpu");
  binding.bindOutputTo("z", host);
  binding.run();
  const [z] = binding.outputs();
  assert.deepEqual(z.read().data, Float32Array.of(2, 4, 6, 8));
  z.close();
  assert.equal(nativeHandleStats().value, before);
});
