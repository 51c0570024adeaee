/**
 * Cost of one Run through this FFI layer, printed (no assertions):
 *   .tools/bin/deno run --allow-all bench/micro/ffi_run.ts
 * Measures sync run, awaited runAsync, sync run inside a Worker, and how much of a sync run is
 * ORT itself versus this layer's per-call work (OrtValue creation, output copy-out).
 */
import { OrtRuntime, type Tensor, tensor } from "../../ffi/mod.ts";
import { openOrtLibrary } from "../../ffi/library.ts";
import { PreparedRun } from "../../ffi/run_call.ts";
import { RuntimeCore } from "../../ffi/runtime_core.ts";
import { NativeSessionOptions } from "../../ffi/session_options.ts";
import { cString, outSlot, requirePointer } from "../../ffi/native.ts";
import { fixture } from "../../tests/ffi/helpers.ts";

const N = Number(Deno.args[0] ?? 20_000);
const rt = OrtRuntime.load();

function time(label: string, n: number, fn: () => void) {
  for (let i = 0; i < Math.min(1000, n); i++) fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) fn();
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(7)} µs/call`);
  return us;
}
async function timeAsync(label: string, n: number, fn: () => Promise<unknown>) {
  for (let i = 0; i < 200; i++) await fn();
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await fn();
  const us = ((performance.now() - t0) * 1000) / n;
  console.log(`${label.padEnd(58)} ${us.toFixed(1).padStart(7)} µs/call`);
}

const add = rt.createSession(fixture("add.onnx"), { device: "cpu", intraOpThreads: 1 });
const x = tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4));
console.log(`ONNX Runtime ${rt.version}, ${navigator.hardwareConcurrency} CPUs, N=${N}`);
time("add.onnx  session.run (sync)", N, () => add.run({ x, y: x }));
await timeAsync(
  "add.onnx  await session.runAsync (nonblocking)",
  N / 4,
  () => add.runAsync({ x, y: x }),
);

// ORT's own share: one prepared run reused, the Run call alone (outputs released each time).
{
  const api = openOrtLibrary().api;
  const core = new RuntimeCore(openOrtLibrary(), "warning");
  const out = outSlot();
  {
    using options = new NativeSessionOptions(api, { device: "cpu", intraOpThreads: 1 });
    const status = api.CreateSession.call(
      core.env,
      cString(fixture("add.onnx")),
      options.pointer,
      out,
    );
    if (status !== null) throw new Error("CreateSession failed");
  }
  const session = requirePointer(out, "OrtSession");
  const prepared = new PreparedRun(api, core.memoryInfo, { x, y: x }, ["z"], new Map());
  time("add.onnx  bare OrtApi::Run (no tensor wrap, no copy-out)", N, () => {
    const status = api.Run.call(session, null, ...prepared.args);
    if (status !== null) throw new Error("Run failed");
    api.ReleaseValue.call(Deno.UnsafePointer.create(prepared.outputValues[0]));
    prepared.outputValues[0] = 0n;
  });
  prepared.close();
  api.ReleaseSession.call(session);
  core.close();
}

const joint = rt.createSession(fixture("joint_like.onnx"), { device: "cpu", intraOpThreads: 1 });
for (const b of [1, 8, 64]) {
  const feeds: Record<string, Tensor> = {
    encoder_outputs: tensor("float32", [b, 64, 1]),
    targets: tensor("int32", [b, 1]),
    target_length: tensor("int32", [b]),
    input_states_1: tensor("float32", [2, b, 64]),
    input_states_2: tensor("float32", [2, b, 64]),
  };
  time(`joint_like B=${b} (5 in, 4 out) session.run`, N / 4, () => joint.run(feeds));
}

// The bound fast path: inputs and preallocated outputs bound once, one FFI call per run.
for (const b of [1, 8]) {
  const bound = joint.bind({
    encoder_outputs: tensor("float32", [b, 64, 1]),
    targets: tensor("int32", [b, 1]),
    target_length: tensor("int32", [b]),
    input_states_1: tensor("float32", [2, b, 64]),
    input_states_2: tensor("float32", [2, b, 64]),
  }, {
    outputs: tensor("float32", [b, 1, 1, 40]),
    prednet_lengths: tensor("int32", [b]),
    output_states_1: tensor("float32", [2, b, 64]),
    output_states_2: tensor("float32", [2, b, 64]),
  });
  time(`joint_like B=${b} bound.run() (sync)`, N, () => bound.run());
  await timeAsync(`joint_like B=${b} await bound.runAsync()`, N / 4, () => bound.runAsync());
  bound.close();
}

// A Worker doing sync runs: the inference-Worker design.
const worker = new Worker(new URL("../../tests/ffi/run_worker.ts", import.meta.url), {
  type: "module",
});
const reply = new Promise<{ usPerRun: number }>((r) => worker.onmessage = (e) => r(e.data));
worker.postMessage({ model: fixture("add.onnx"), n: N });
const { usPerRun } = await reply;
console.log(
  `${"add.onnx  session.run (sync) inside a Worker".padEnd(58)} ${
    usPerRun.toFixed(1).padStart(7)
  } µs/call`,
);
worker.terminate();
add.close();
joint.close();
rt.close();
