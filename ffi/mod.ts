/**
 * ONNX Runtime for parakeet-server, through Deno FFI. The public API is plain TypeScript values:
 * no pointer ever leaves ffi/.
 */
export { OrtRuntime, type RuntimeLoadOptions } from "./runtime.ts";
export { InferenceSession, type RunAsyncOptions } from "./session.ts";
export type { GraphOptimization, SessionOptions } from "./session_options.ts";
export type { CudaOptions } from "./cuda_options.ts";
export type { ValueInfo } from "./value_info.ts";
export type { LogLevel } from "./runtime_core.ts";
export {
  type ElementType,
  type Tensor,
  tensor,
  type TensorData,
  type TensorDataMap,
} from "./tensor.ts";
export { OrtError, type OrtErrorCode } from "./status.ts";
export { libraryCandidates, OrtLibraryError } from "./library.ts";
export { nativeHandleStats } from "./handle.ts";
export {
  checkCuda,
  createSessionOnDevice,
  type DeviceChoice,
  type DeviceRequest,
  DeviceUnavailableError,
  resolveDevice,
  systemProbe,
} from "./device.ts";
export {
  checkCudaFiles,
  CUDA_REQUIREMENTS,
  type CudaFileReport,
  type CudaProbe,
  type CudaRequirement,
  type MissingPiece,
} from "./device_check.ts";
export type { BoundRun } from "./bound_run.ts";
export type { ValueRun } from "./value_run.ts";
export type { IoBinding, MemoryDevice, MemoryInfo } from "./io_binding.ts";
export type { HostValue, ResidentValue, RunValue } from "./resident_value.ts";
export { type TransferStats, transferStats } from "./transfer_stats.ts";
export { trimHeap } from "./heap_trim.ts";
