/**
 * The CUDA execution provider's settings: the CUDA_* knobs become CudaOptions
 * (src/server/launch.ts), CudaOptions become ORT's key/value pairs (ffi/cuda_options.ts), and
 * the pairs reach UpdateCUDAProviderOptions: a recording stand-in of the C API on any build, and
 * the real parser of the GPU build (with its CUDA runtime and a stub driver: no GPU needed).
 */
import assert from "node:assert/strict";
import type { OrtApi } from "../../ffi/api_table.ts";
import { cudaOptionPairs, CudaProviderOptions } from "../../ffi/cuda_options.ts";
import { addressOf } from "../../ffi/native.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { cudaOptions } from "../../src/server/launch.ts";
import {
  fixture,
  GPU_FULL_LIB_DIR,
  hasGcc,
  hasGpuFull,
  runScript,
  withStubDriver,
} from "./helpers.ts";

Deno.test("CUDA knobs: defaults and choices become the provider's options", () => {
  assert.deepEqual(cudaOptions(loadServerConfig({})), {
    deviceId: 0,
    useTf32: true,
    cudnnConvAlgoSearch: "HEURISTIC",
    arenaExtendStrategy: "kSameAsRequested",
  });
  const set = loadServerConfig({
    CUDA_DEVICE_ID: "3",
    CUDA_TF32: "0",
    CUDA_CUDNN_CONV_ALGO_SEARCH: "EXHAUSTIVE",
  }, ["--cuda-arena-extend-strategy", "kNextPowerOfTwo"]);
  assert.deepEqual(cudaOptions(set), {
    deviceId: 3,
    useTf32: false,
    cudnnConvAlgoSearch: "EXHAUSTIVE",
    arenaExtendStrategy: "kNextPowerOfTwo",
  });
  assert.throws(
    () => loadServerConfig({ CUDA_CUDNN_CONV_ALGO_SEARCH: "FAST" }),
    /CUDA_CUDNN_CONV_ALGO_SEARCH must be one of EXHAUSTIVE, HEURISTIC, DEFAULT/,
  );
  assert.throws(() => loadServerConfig({ CUDA_TF32: "2" }), /CUDA_TF32 must be from 0 to 1/);
});

Deno.test("CUDA options: ORT's keys and values, in a stable order", () => {
  assert.deepEqual(cudaOptionPairs({}), [["device_id", "0"]]);
  assert.deepEqual(
    cudaOptionPairs({
      deviceId: 1,
      useTf32: false,
      cudnnConvAlgoSearch: "HEURISTIC",
      arenaExtendStrategy: "kSameAsRequested",
    }),
    [
      ["device_id", "1"],
      ["cudnn_conv_algo_search", "HEURISTIC"],
      ["arena_extend_strategy", "kSameAsRequested"],
      ["use_tf32", "0"],
    ],
  );
  assert.deepEqual(cudaOptionPairs({ useTf32: true }).at(-1), ["use_tf32", "1"]);
});

Deno.test("CUDA options: the knobs' pairs are what UpdateCUDAProviderOptions receives", () => {
  // The three provider-options calls of the C API, recording what they are handed.
  const options = new BigUint64Array(1);
  const calls: string[] = [];
  let received: [string, string][] = [];
  const read = (table: BigUint64Array, i: number) =>
    Deno.UnsafePointerView.getCString(Deno.UnsafePointer.create(table[i])!);
  const api = {
    CreateCUDAProviderOptions: {
      call: (out: BigUint64Array) => {
        calls.push("create");
        out[0] = addressOf(options);
        return null;
      },
    },
    UpdateCUDAProviderOptions: {
      call: (p: Deno.PointerObject, keys: BigUint64Array, values: BigUint64Array, n: bigint) => {
        calls.push("update");
        assert.equal(Deno.UnsafePointer.value(p), addressOf(options));
        received = Array.from({ length: Number(n) }, (_, i) => [read(keys, i), read(values, i)]);
        return null;
      },
    },
    ReleaseCUDAProviderOptions: { call: () => calls.push("release") },
  } as unknown as OrtApi;
  const set = loadServerConfig({ CUDA_DEVICE_ID: "2", CUDA_TF32: "0" });
  {
    using _ = new CudaProviderOptions(api, cudaOptions(set));
    assert.deepEqual(received, [
      ["device_id", "2"],
      ["cudnn_conv_algo_search", "HEURISTIC"],
      ["arena_extend_strategy", "kSameAsRequested"],
      ["use_tf32", "0"],
    ]);
  }
  assert.deepEqual(calls, ["create", "update", "release"]);
});

const SCRIPT = `
import { OrtRuntime, createSessionOnDevice } from "@FFI@";
const rt = OrtRuntime.load();
const out = {};
const cases = {
  knobs: { deviceId: 0, useTf32: false, cudnnConvAlgoSearch: "HEURISTIC", arenaExtendStrategy: "kSameAsRequested" },
};
for (const [name, cuda] of Object.entries(cases)) {
  try {
    const r = createSessionOnDevice(rt, ${JSON.stringify(fixture("add.onnx"))}, "cuda", { cuda });
    out[name] = { device: r.device };
    r.session.close();
  } catch (e) { out[name] = { error: e.message }; }
}
console.log(JSON.stringify(out));
`;

Deno.test({
  name: "CUDA options (GPU build, stub driver): the knobs reach ORT's provider-options parser",
  ignore: !hasGpuFull || !hasGcc,
  async fn() {
    await withStubDriver(async (dir) => {
      const r = (await runScript(SCRIPT, { ORT_LIB: GPU_FULL_LIB_DIR, LD_LIBRARY_PATH: dir }))
        .json as Record<string, { error?: string }>;
      // The real library got the options: its parser reads device_id first and asks the (stub)
      // driver how many GPUs there are.
      assert.match(r.knobs.error!, /UpdateCUDAProviderOptions failed/, r.knobs.error);
      assert.match(r.knobs.error!, /provider option "device_id": CUDA failure \d+/);
    });
  },
});
