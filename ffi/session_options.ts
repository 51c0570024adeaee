/**
 * OrtSessionOptions built from a plain SessionOptions object. One NativeSessionOptions is used
 * for one CreateSession and then closed: a failed CUDA append may leave the options half-changed
 * (ONNX Runtime does not say what it touched before failing), so a CPU fallback builds fresh ones.
 */
import type { OrtApi } from "./api_table.ts";
import { type CudaOptions, CudaProviderOptions } from "./cuda_options.ts";
import { NativeHandle, NativeOwner } from "./handle.ts";
import { cString, outSlot, requirePointer } from "./native.ts";
import { check } from "./status.ts";

export type GraphOptimization = "disable" | "basic" | "extended" | "all";

export interface SessionOptions {
  device: "cpu" | "cuda";
  /** Shorthand for `cuda.deviceId`. */
  cudaDeviceId?: number;
  /** Other CUDA execution provider settings. */
  cuda?: CudaOptions;
  /** Threads inside one operator (0 or absent: ORT's default, one per physical core). */
  intraOpThreads?: number;
  /** Threads across operators (only used by ORT's parallel execution mode). */
  interOpThreads?: number;
  graphOptimization?: GraphOptimization;
  /** ORT's CPU memory arena (default on). Off lowers peak memory with varying shapes. */
  memoryArena?: boolean;
  /**
   * ORT's memory pattern (default on): per input shape, one block planned for all intermediate
   * tensors. With shapes that vary call to call (batch sizes), each new shape plans a new block.
   */
  memoryPattern?: boolean;
  /**
   * Whether ONNX Runtime's intra-op threads spin while they wait for work (its default, on).
   * Spinning threads hold every core between operators, where the host's own work would run.
   */
  intraOpSpinning?: boolean;
}

// GraphOptimizationLevel values (onnxruntime_c_api.h).
const OPT_LEVELS: Record<GraphOptimization, number> = {
  disable: 0,
  basic: 1,
  extended: 2,
  all: 99,
};

function threadCount(name: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (!Number.isInteger(value) || value < 0) {
    throw new RangeError(`SessionOptions.${name} must be a non-negative integer, got ${value}`);
  }
  return value | 0; // FFI integer parameters reject -0
}

export class NativeSessionOptions extends NativeOwner {
  protected readonly handle: NativeHandle;

  constructor(api: OrtApi, opts: SessionOptions) {
    super();
    const intra = threadCount("intraOpThreads", opts.intraOpThreads);
    const inter = threadCount("interOpThreads", opts.interOpThreads);
    const level = opts.graphOptimization ?? "all";
    if (!(level in OPT_LEVELS)) {
      throw new RangeError(
        `SessionOptions.graphOptimization must be disable|basic|extended|all, got "${level}"`,
      );
    }
    if (opts.device !== "cpu" && opts.device !== "cuda") {
      throw new RangeError(`SessionOptions.device must be "cpu" or "cuda", got "${opts.device}"`);
    }
    const out = outSlot();
    check(api, api.CreateSessionOptions.call(out), "CreateSessionOptions");
    const p = requirePointer(out, "OrtSessionOptions");
    this.handle = new NativeHandle("sessionOptions", p, (q) => api.ReleaseSessionOptions.call(q));
    try {
      if (intra !== undefined) {
        check(api, api.SetIntraOpNumThreads.call(p, intra), "SetIntraOpNumThreads");
      }
      if (inter !== undefined) {
        check(api, api.SetInterOpNumThreads.call(p, inter), "SetInterOpNumThreads");
      }
      check(
        api,
        api.SetSessionGraphOptimizationLevel.call(p, OPT_LEVELS[level]),
        "SetSessionGraphOptimizationLevel",
      );
      if (opts.intraOpSpinning !== undefined) {
        check(
          api,
          api.AddSessionConfigEntry.call(
            p,
            cString("session.intra_op.allow_spinning"),
            cString(opts.intraOpSpinning ? "1" : "0"),
          ),
          "AddSessionConfigEntry",
        );
      }
      if (opts.memoryArena === false) {
        check(api, api.DisableCpuMemArena.call(p), "DisableCpuMemArena");
      }
      if (opts.memoryPattern === false) {
        check(api, api.DisableMemPattern.call(p), "DisableMemPattern");
      }
      if (opts.device === "cuda") {
        const cuda = { ...opts.cuda, deviceId: opts.cuda?.deviceId ?? opts.cudaDeviceId };
        using cudaOptions = new CudaProviderOptions(api, cuda);
        check(
          api,
          api.SessionOptionsAppendExecutionProvider_CUDA_V2.call(p, cudaOptions.pointer),
          "SessionOptionsAppendExecutionProvider_CUDA_V2",
        );
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }
}
