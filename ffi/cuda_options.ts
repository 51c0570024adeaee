/**
 * OrtCUDAProviderOptionsV2: created, filled with string key/values (ORT's own parser validates
 * them and names a bad key or value), appended to session options, released.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle, NativeOwner } from "./handle.ts";
import { cString, cStringArray, outSlot, requirePointer } from "./native.ts";
import { check } from "./status.ts";

/** CUDA execution provider settings that matter for this server (ORT defaults otherwise). */
export interface CudaOptions {
  /** GPU ordinal (default 0). */
  deviceId?: number;
  /** cuDNN convolution algorithm search; EXHAUSTIVE (ORT's default) is slowest to start. */
  cudnnConvAlgoSearch?: "EXHAUSTIVE" | "HEURISTIC" | "DEFAULT";
  /** How the device arena grows; kSameAsRequested wastes less memory with varying shapes. */
  arenaExtendStrategy?: "kNextPowerOfTwo" | "kSameAsRequested";
  /** Copies on the compute stream (ORT's default true; false can race on some models). */
  doCopyInDefaultStream?: boolean;
  /** Device arena limit in bytes (default: no limit). */
  gpuMemLimit?: number;
  /** TF32 Tensor Core math for fp32 MatMuls and convolutions (ORT's default true). */
  useTf32?: boolean;
}

/** The ORT key/value pairs for `opts`, in a stable order. Pure; exported for tests. */
export function cudaOptionPairs(opts: CudaOptions): [string, string][] {
  const pairs: [string, string][] = [["device_id", String(opts.deviceId ?? 0)]];
  if (opts.cudnnConvAlgoSearch) pairs.push(["cudnn_conv_algo_search", opts.cudnnConvAlgoSearch]);
  if (opts.arenaExtendStrategy) pairs.push(["arena_extend_strategy", opts.arenaExtendStrategy]);
  if (opts.doCopyInDefaultStream !== undefined) {
    pairs.push(["do_copy_in_default_stream", opts.doCopyInDefaultStream ? "1" : "0"]);
  }
  if (opts.gpuMemLimit !== undefined) pairs.push(["gpu_mem_limit", String(opts.gpuMemLimit)]);
  if (opts.useTf32 !== undefined) pairs.push(["use_tf32", opts.useTf32 ? "1" : "0"]);
  return pairs;
}

export class CudaProviderOptions extends NativeOwner {
  protected readonly handle: NativeHandle;

  constructor(api: OrtApi, opts: CudaOptions) {
    super();
    const out = outSlot();
    check(api, api.CreateCUDAProviderOptions.call(out), "CreateCUDAProviderOptions");
    const p = requirePointer(out, "OrtCUDAProviderOptionsV2");
    this.handle = new NativeHandle(
      "cudaProviderOptions",
      p,
      (q) => api.ReleaseCUDAProviderOptions.call(q),
    );
    try {
      const pairs = cudaOptionPairs(opts);
      const keys = pairs.map(([k]) => cString(k));
      const values = pairs.map(([, v]) => cString(v));
      check(
        api,
        api.UpdateCUDAProviderOptions.call(
          p,
          cStringArray(keys),
          cStringArray(values),
          BigInt(pairs.length),
        ),
        "UpdateCUDAProviderOptions",
      );
    } catch (e) {
      this.close();
      throw e;
    }
  }
}
