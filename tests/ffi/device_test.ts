import assert from "node:assert/strict";
import { checkCudaFiles, type CudaProbe, OrtRuntime, resolveDevice } from "../../ffi/mod.ts";
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

/** A fake file system + loader: `files` exist in /ort; `loadable` names load by name. */
function fakeProbe(files: string[], loadable: string[]): CudaProbe & { loads: string[] } {
  const loads: string[] = [];
  return {
    loads,
    exists: (p) => files.some((f) => p === `/ort/${f}`),
    load(p) {
      loads.push(p);
      if (p.startsWith("/ort/") || loadable.includes(p)) return null;
      return `${p}: cannot open shared object file: No such file or directory`;
    },
  };
}
const PROVIDERS = ["libonnxruntime_providers_shared.so", "libonnxruntime_providers_cuda.so"];
const RUNTIME = [
  "libcudart.so.13",
  "libcublasLt.so.13",
  "libcublas.so.13",
  "libcurand.so.10",
  "libcufft.so.12",
  "libcudnn.so.9",
];

Deno.test("checkCudaFiles: CPU build names the missing provider and the GPU setup command", () => {
  const r = checkCudaFiles("/ort", fakeProbe([], []));
  assert.equal(r.ok, false);
  assert.deepEqual(r.missing.map((m) => m.requirement.name), [
    "libonnxruntime_providers_shared.so",
  ]);
  assert.equal(
    r.message,
    "CUDA is not usable: libonnxruntime_providers_shared.so (ONNX Runtime's provider bridge) is " +
      "missing — not found in /ort; this ONNX Runtime is the CPU build; run ORT_FLAVOR=gpu bash " +
      "scripts/setup.sh to install the GPU build.",
  );
});

Deno.test("checkCudaFiles: GPU build without driver or runtime names libcuda.so.1 first", () => {
  const r = checkCudaFiles("/ort", fakeProbe(PROVIDERS, []));
  assert.deepEqual(r.missing.map((m) => m.requirement.name), ["libcuda.so.1", ...RUNTIME]);
  assert.match(r.message!, /^CUDA is not usable: libcuda\.so\.1 \(the NVIDIA driver library\)/);
  assert.match(r.message!, /comes only from the host's NVIDIA driver/);
  assert.match(r.message!, /Also missing: libcudart\.so\.13, libcublasLt\.so\.13/);
});

Deno.test("checkCudaFiles: driver present, cudart missing names cudart and its wheel", () => {
  const r = checkCudaFiles("/ort", fakeProbe(PROVIDERS, ["libcuda.so.1"]));
  assert.equal(r.missing[0].requirement.name, "libcudart.so.13");
  assert.match(
    r.message!,
    /libcudart\.so\.13 \(CUDA 13 runtime \(PyPI nvidia-cuda-runtime\)\) is missing — not in \/ort and not loadable by name: .*run ORT_FLAVOR=gpu bash scripts\/setup\.sh \(installs NVIDIA's CUDA 13 runtime wheels/,
  );
});

Deno.test("checkCudaFiles: only cuDNN missing names libcudnn.so.9", () => {
  const files = [...PROVIDERS, ...RUNTIME.filter((f) => f !== "libcudnn.so.9")];
  const r = checkCudaFiles("/ort", fakeProbe(files, ["libcuda.so.1"]));
  assert.deepEqual(r.missing.map((m) => m.requirement.name), ["libcudnn.so.9"]);
  assert.match(r.message!, /cuDNN 9 \(PyPI nvidia-cudnn-cu13\)/);
});

Deno.test("checkCudaFiles: runtime libraries beside ORT are loaded by absolute path", () => {
  const probe = fakeProbe([...PROVIDERS, ...RUNTIME], ["libcuda.so.1"]);
  const r = checkCudaFiles("/ort", probe);
  assert.deepEqual(r, { ok: true, missing: [] });
  assert.deepEqual(probe.loads, ["libcuda.so.1", ...RUNTIME.map((f) => `/ort/${f}`)]);
});

Deno.test("resolveDevice: cpu is cpu without looking at files", () => {
  using rt = OrtRuntime.load();
  const probe = fakeProbe([], []);
  assert.deepEqual(resolveDevice(rt, "cpu", probe), { device: "cpu" });
  assert.deepEqual(probe.loads, []);
});

// The real loader, in subprocesses: each ORT build gets its own process.
const SCRIPT = `
import { OrtRuntime, resolveDevice, createSessionOnDevice, checkCuda } from "@FFI@";
const rt = OrtRuntime.load();
const out = { providers: rt.availableProviders(), check: checkCuda(rt) };
for (const req of ["auto", "cuda"]) {
  try { out[req] = resolveDevice(rt, req); } catch (e) { out[req] = { error: e.name + ": " + e.message }; }
  try {
    const r = createSessionOnDevice(rt, ${JSON.stringify(fixture("add.onnx"))}, req);
    out[req + "Session"] = { device: r.device, warning: r.warning, inputs: r.session.inputs.length };
    r.session.close();
  } catch (e) { out[req + "Session"] = { error: e.name + ": " + e.message }; }
}
console.log(JSON.stringify(out));
`;
type Outcome = { device?: string; warning?: string; error?: string; inputs?: number };
type Report = {
  providers: string[];
  check: { ok: boolean; missing: { requirement: { name: string; where: string } }[] };
  auto: Outcome;
  cuda: Outcome;
  autoSession: Outcome;
  cudaSession: Outcome;
};
const names = (r: Report) => r.check.missing.map((m) => m.requirement.name);

Deno.test("device (CPU build): cuda throws naming the provider, auto warns and uses the CPU", async () => {
  const r = (await runScript(SCRIPT, {})).json as Report;
  assert.ok(!r.providers.includes("CUDAExecutionProvider"));
  assert.match(
    r.cuda.error!,
    /^DeviceUnavailableError: CUDA is not usable: libonnxruntime_providers_shared\.so .* this ONNX Runtime is the CPU build; run ORT_FLAVOR=gpu bash scripts\/setup\.sh/,
  );
  assert.equal(r.auto.device, "cpu");
  assert.match(
    r.auto.warning!,
    /^device auto: using the CPU\. CUDA is not usable: libonnxruntime_providers_shared\.so/,
  );
  assert.equal(r.autoSession.device, "cpu");
  assert.equal(r.autoSession.inputs, 2);
});

Deno.test({
  name: "device (GPU build, no driver, no CUDA runtime): names libcuda.so.1",
  ignore: !hasGpuBuild,
  async fn() {
    const r = (await runScript(SCRIPT, { ORT_LIB: GPU_LIB_DIR })).json as Report;
    assert.ok(r.providers.includes("CUDAExecutionProvider"), "the build lists CUDA anyway");
    assert.equal(names(r)[0], "libcuda.so.1");
    assert.ok(names(r).includes("libcublasLt.so.13"));
    assert.match(
      r.cuda.error!,
      /^DeviceUnavailableError: CUDA is not usable: libcuda\.so\.1 \(the NVIDIA driver library\) is missing/,
    );
    assert.equal(r.autoSession.device, "cpu");
  },
});

Deno.test({
  name: "device (GPU build, stub driver, no CUDA runtime): names a CUDA runtime library",
  ignore: !hasGpuBuild || !hasGcc,
  async fn() {
    await withStubDriver(async (dir) => {
      const r = (await runScript(SCRIPT, { ORT_LIB: GPU_LIB_DIR, LD_LIBRARY_PATH: dir }))
        .json as Report;
      assert.ok(!names(r).includes("libcuda.so.1"));
      // Which runtime library is first depends on what the host has (this one has a system
      // libcudart.so.13 but no cuBLAS); it is always a runtime library with its wheel named.
      assert.equal(r.check.missing[0].requirement.where, "runtime");
      assert.match(
        r.cuda.error!,
        /is missing — not in .* and not loadable by name: .*run ORT_FLAVOR=gpu bash scripts\/setup\.sh \(installs NVIDIA's CUDA 13 runtime wheels/,
      );
      assert.equal(r.auto.device, "cpu");
    });
  },
});

Deno.test({
  name: "device (GPU build with CUDA runtime, no driver): libcuda.so.1 is the only missing piece",
  ignore: !hasGpuFull,
  async fn() {
    const r = (await runScript(SCRIPT, { ORT_LIB: GPU_FULL_LIB_DIR })).json as Report;
    assert.deepEqual(names(r), ["libcuda.so.1"]);
    assert.match(r.cuda.error!, /CUDA is not usable: libcuda\.so\.1/);
    assert.doesNotMatch(r.cuda.error!, /Also missing/);
  },
});

Deno.test({
  name:
    "device (GPU build with CUDA runtime, stub driver): fails at session creation, auto falls back",
  ignore: !hasGpuFull || !hasGcc,
  async fn() {
    await withStubDriver(async (dir) => {
      const r = (await runScript(SCRIPT, { ORT_LIB: GPU_FULL_LIB_DIR, LD_LIBRARY_PATH: dir }))
        .json as Report;
      assert.equal(r.check.ok, true);
      assert.equal(r.auto.device, "cuda");
      assert.match(
        r.cudaSession.error!,
        /^DeviceUnavailableError: CUDA session for .*add\.onnx failed: .*CUDA failure \d+/,
      );
      assert.equal(r.autoSession.device, "cpu");
      assert.match(
        r.autoSession.warning!,
        /^device auto: using the CPU because the CUDA session failed: .*CUDA failure/,
      );
      assert.equal(r.autoSession.inputs, 2);
    });
  },
});
