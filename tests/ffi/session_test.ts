import assert from "node:assert/strict";
import { OrtError, OrtRuntime, tensor } from "../../ffi/mod.ts";
import { fixture, FIXTURES } from "./helpers.ts";

const rt = OrtRuntime.load();
const mixedFeeds = () => ({
  a: tensor("float32", [2, 4], Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8])),
  b: tensor("int32", [2], Int32Array.of(5, -2)),
  c: tensor("int64", [2], BigInt64Array.of(10n, -20n)),
});

Deno.test("InferenceSession: inputs and outputs with types and symbolic dims", () => {
  using s = rt.createSession(fixture("mixed.onnx"), { device: "cpu" });
  assert.deepEqual(s.inputs, [
    { name: "a", type: "float32", dims: ["batch", 4] },
    { name: "b", type: "int32", dims: ["batch"] },
    { name: "c", type: "int64", dims: [2] },
  ]);
  assert.deepEqual(s.outputs.map((o) => [o.name, o.type]), [
    ["doubled", "float32"],
    ["half", "float16"],
    ["b_times_3", "int32"],
    ["c_plus_1", "int64"],
  ]);
});

Deno.test("InferenceSession.run: float32, int32, int64 and float16 outputs with dims", () => {
  using s = rt.createSession(fixture("mixed.onnx"), { device: "cpu", intraOpThreads: 1 });
  const out = s.run(mixedFeeds());
  assert.deepEqual(
    out.doubled,
    tensor("float32", [2, 4], Float32Array.of(2, 4, 6, 8, 10, 12, 14, 16)),
  );
  assert.deepEqual(out.b_times_3, tensor("int32", [2], Int32Array.of(15, -6)));
  assert.deepEqual(out.c_plus_1, tensor("int64", [2], BigInt64Array.of(11n, -19n)));
  assert.equal(out.half.type, "float16");
  assert.deepEqual(Array.from(out.half.data as Float16Array), [1, 2, 3, 4, 5, 6, 7, 8]);
});

Deno.test("InferenceSession.run: outputNames selects outputs; inputs are not modified", () => {
  using s = rt.createSession(fixture("mixed.onnx"));
  const feeds = mixedFeeds();
  const out = s.run(feeds, ["c_plus_1"]);
  assert.deepEqual(Object.keys(out), ["c_plus_1"]);
  assert.deepEqual(feeds.c.data, BigInt64Array.of(10n, -20n));
});

Deno.test("InferenceSession.runAsync: same results as run", async () => {
  using s = rt.createSession(fixture("mixed.onnx"));
  assert.deepEqual(await s.runAsync(mixedFeeds()), s.run(mixedFeeds()));
});

Deno.test("InferenceSession: graph optimisation levels, threads and arena settings all load", () => {
  for (const graphOptimization of ["disable", "basic", "extended", "all"] as const) {
    using s = rt.createSession(fixture("add.onnx"), {
      device: "cpu",
      graphOptimization,
      intraOpThreads: 2,
      interOpThreads: 1,
      memoryArena: false,
      memoryPattern: false,
    });
    const x = tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4));
    assert.deepEqual(s.run({ x, y: x }).z.data, Float32Array.of(2, 4, 6, 8));
  }
});

Deno.test("createSession: invalid options are refused before ORT sees them", () => {
  assert.throws(
    () => rt.createSession(fixture("add.onnx"), { device: "cpu", intraOpThreads: -1 }),
    /intraOpThreads must be a non-negative integer, got -1/,
  );
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => rt.createSession(fixture("add.onnx"), { device: "cpu", graphOptimization: "max" as any }),
    /graphOptimization must be disable\|basic\|extended\|all, got "max"/,
  );
});

Deno.test("createSession: a missing model file is NO_SUCHFILE naming the path", () => {
  const path = `${FIXTURES}/does-not-exist.onnx`;
  assert.throws(() => rt.createSession(path), (e: unknown) => {
    assert.ok(e instanceof OrtError);
    assert.equal(e.code, "NO_SUCHFILE");
    assert.ok(e.message.includes(path), e.message);
    return true;
  });
});

Deno.test("createSession: a corrupt model is INVALID_PROTOBUF", () => {
  assert.throws(() => rt.createSession(fixture("corrupt.onnx")), (e: unknown) => {
    assert.ok(e instanceof OrtError);
    assert.equal(e.code, "INVALID_PROTOBUF");
    assert.match(e.message, /corrupt\.onnx/);
    assert.match(e.message, /Protobuf parsing failed/);
    return true;
  });
});

Deno.test("createSession: external data is found beside the model, whatever the cwd", () => {
  const cwd = Deno.cwd();
  Deno.chdir("/");
  try {
    using s = rt.createSession(fixture("external/model.onnx"));
    // W = [[0,1,2],[3,4,5],[6,7,8],[9,10,11]]; x = [1,1,1,1] → column sums.
    const y = s.run({ x: tensor("float32", [1, 4], Float32Array.of(1, 1, 1, 1)) }).y;
    assert.deepEqual(y.data, Float32Array.of(18, 22, 26));
  } finally {
    Deno.chdir(cwd);
  }
  // A relative model path resolves external data relative to the model too.
  Deno.chdir(FIXTURES);
  try {
    using s = rt.createSession("external/model.onnx");
    assert.equal(s.outputs[0].name, "y");
  } finally {
    Deno.chdir(cwd);
  }
});

function assertRunError(
  feeds: Parameters<typeof s0.run>[0],
  code: string,
  pattern: RegExp,
  outputs?: string[],
) {
  assert.throws(() => s0.run(feeds, outputs), (e: unknown) => {
    assert.ok(e instanceof OrtError, String(e));
    assert.equal(e.code, code);
    assert.match(e.message, pattern);
    return true;
  });
}
const s0 = rt.createSession(fixture("mixed.onnx"));

Deno.test("run: ORT's message for a wrong input name", () => {
  const { a, b, c } = mixedFeeds();
  assertRunError({ a, b, c, nope: c }, "INVALID_ARGUMENT", /Invalid input name: nope/);
});

Deno.test("run: ORT's message for a missing input", () => {
  const { a, b } = mixedFeeds();
  // ORT 1.30 notices only when the kernel needing it runs: FAIL, not INVALID_ARGUMENT.
  assertRunError({ a, b }, "FAIL", /Missing Input: c/);
});

Deno.test("run: ORT's message for a wrong element type", () => {
  const { a, c } = mixedFeeds();
  const b = tensor("int64", [2], BigInt64Array.of(1n, 2n));
  assertRunError(
    { a, b, c },
    "INVALID_ARGUMENT",
    /Unexpected input data type. Actual: \(tensor\(int64\)\) , expected: \(tensor\(int32\)\)/,
  );
});

Deno.test("run: ORT's message for a wrong shape", () => {
  const { b, c } = mixedFeeds();
  const a = tensor("float32", [2, 3]);
  assertRunError({ a, b, c }, "INVALID_ARGUMENT", /Got invalid dimensions for input: a/);
});

Deno.test("run: ORT's message for an unknown output name", () => {
  assertRunError(mixedFeeds(), "INVALID_ARGUMENT", /Invalid output name:? ?nope/, ["nope"]);
});

Deno.test("run: data length not matching dims is refused before ORT reads past the array", () => {
  const { b, c } = mixedFeeds();
  const a = tensor("float32", [2, 4], new Float32Array(7));
  assert.throws(
    () => s0.run({ a, b, c }),
    /Input "a": dims \[2,4\] hold 8 elements but the data has 7/,
  );
  const wrongClass = { type: "float32", dims: [2, 4], data: new Int32Array(8) } as never;
  assert.throws(
    () => s0.run({ a: wrongClass, b, c }),
    /a float32 tensor needs a Float32Array, got Int32Array/,
  );
});

Deno.test("run: a closed session refuses to run", () => {
  const s = rt.createSession(fixture("add.onnx"));
  s.close();
  s.close(); // idempotent
  assert.throws(() => s.run({}), /Cannot run session of .*add\.onnx: it is closed/);
});

Deno.test("teardown: close the shared session", () => s0.close());

Deno.test({
  name:
    "createSession: intraOpSpinning false stops the intra-op threads spinning between operators",
  ignore: navigator.hardwareConcurrency < 2,
  fn: async () => {
    const { default: process } = await import("node:process");
    const encoder = new URL("../../models/test/tiny-tdt/encoder-model.onnx", import.meta.url);
    // CPU time over wall time across back-to-back runs: spinning threads stay busy between and
    // after operators, sleeping ones do not.
    const busyCores = (spinning: boolean) => {
      using s = rt.createSession(encoder.pathname, {
        device: "cpu",
        intraOpThreads: 2,
        intraOpSpinning: spinning,
      });
      const [features, lengths] = s.inputs.map((i) => i.name);
      const feeds = {
        [features]: tensor("float32", [1, 128, 300], new Float32Array(128 * 300).fill(0.5)),
        [lengths]: tensor("int64", [1], BigInt64Array.of(300n)),
      };
      s.run(feeds);
      const cpu0 = process.cpuUsage(), t0 = performance.now();
      for (let i = 0; i < 30; i++) s.run(feeds);
      const cpu = process.cpuUsage(cpu0);
      return (cpu.user + cpu.system) / 1000 / (performance.now() - t0);
    };
    const spinning = busyCores(true), sleeping = busyCores(false);
    assert.ok(
      spinning - sleeping >= 0.25,
      `cores busy: ${spinning.toFixed(2)} spinning, ${sleeping.toFixed(2)} not`,
    );
  },
});
