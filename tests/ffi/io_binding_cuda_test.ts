/**
 * CUDA memory and IO binding on the GPU builds of ONNX Runtime without a usable GPU: CUDA memory
 * can be described, but nothing binds to it without a CUDA session, and a CUDA session is a
 * clear error — never a silent run in CPU memory. The same binding code runs on the CPU there.
 */
import assert from "node:assert/strict";
import {
  fixture,
  GPU_FULL_LIB_DIR,
  GPU_LIB_DIR,
  hasGcc,
  hasGpuBuild,
  hasGpuFull,
  runScript,
  withStubDriver,
} from "./helpers.ts";

const SCRIPT = `
import { createSessionOnDevice, OrtRuntime, tensor } from "@FFI@";
const rt = OrtRuntime.load();
const out = { providers: rt.availableProviders() };
const fail = (e) => ({ error: e.name + ": " + e.message, code: e.code });
const add = ${JSON.stringify(fixture("add.onnx"))};
try {
  const cuda = rt.createSession(add, { device: "cpu" }).memoryInfo("cuda");
  out.cudaInfo = { device: cuda.device, id: cuda.deviceId };
  cuda.close();
} catch (e) { out.cudaInfo = fail(e); }
{
  const s = rt.createSession(add, { device: "cpu" });
  const x = s.hostValue("x", tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4)));
  const b = s.ioBinding();
  b.bindInput("x", x);
  b.bindInput("y", x);
  const cuda = s.memoryInfo("cuda");
  try { b.bindOutputTo("z", cuda); b.run(); out.cpuSessionCudaOutput = { ran: true }; }
  catch (e) { out.cpuSessionCudaOutput = fail(e); }
  const device = s.memoryInfo("device");
  b.bindOutputTo("z", device);
  b.run();
  const [z] = b.outputs();
  out.cpuBinding = Array.from(z.read().data);
  for (const h of [z, cuda, device, b, x, s]) h.close();
}
try {
  // As the model opens its sessions: the files checked (and loaded) first, then the device.
  const { session, device } = createSessionOnDevice(rt, add, "cuda");
  out.cudaSession = { device };
  session.close();
} catch (e) { out.cudaSession = fail(e); }
console.log(JSON.stringify(out));
`;

type Outcome = { error?: string; code?: string };
type Report = {
  providers: string[];
  cudaInfo: { device?: string; id?: number } & Outcome;
  cpuSessionCudaOutput: { ran?: boolean } & Outcome;
  cpuBinding: number[];
  cudaSession: { device?: string } & Outcome;
};

function assertNoFallback(r: Report) {
  assert.ok(r.providers.includes("CUDAExecutionProvider"));
  assert.deepEqual(r.cudaInfo, { device: "cuda", id: 0 });
  assert.equal(r.cpuSessionCudaOutput.ran, undefined, "bound to CUDA memory on a CPU session");
  assert.equal(r.cpuSessionCudaOutput.code, "INVALID_ARGUMENT");
  assert.match(
    r.cpuSessionCudaOutput.error!,
    /^OrtError: BindOutputToDevice\(z, cuda:0\) failed .*runs on the cpu.*cuda memory/,
  );
  assert.deepEqual(r.cpuBinding, [2, 4, 6, 8]);
  assert.equal(r.cudaSession.device, undefined, "a CUDA session without a GPU");
}

Deno.test({
  name: "ioBinding (GPU build, no driver): CUDA memory is refused clearly, the CPU binding runs",
  ignore: !hasGpuBuild,
  async fn() {
    const { json } = await runScript(SCRIPT, { ORT_LIB: GPU_LIB_DIR });
    const r = json as Report;
    assertNoFallback(r);
    assert.match(r.cudaSession.error!, /^DeviceUnavailableError: .*libcuda\.so\.1/);
  },
});

Deno.test({
  name: "ioBinding (GPU build with CUDA runtime, stub driver): no CUDA session, no CPU fallback",
  ignore: !hasGpuFull || !hasGcc,
  async fn() {
    await withStubDriver(async (dir) => {
      const { json } = await runScript(SCRIPT, { ORT_LIB: GPU_FULL_LIB_DIR, LD_LIBRARY_PATH: dir });
      const r = json as Report;
      assertNoFallback(r);
      assert.match(r.cudaSession.error!, /^DeviceUnavailableError: .*CUDA failure \d+/);
    });
  },
});
