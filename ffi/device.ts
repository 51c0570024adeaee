/**
 * Device selection: `auto` | `cuda` | `cpu` → the device a session will really use.
 *
 * Two stages, because failures show up in two places:
 * 1. files (resolveDevice): the provider beside the core library, the driver, the CUDA runtime
 *    libraries — checked with dlopen before ORT is asked (ORT's status would only say "Failed to
 *    load shared library").
 * 2. the device (createSessionOnDevice): with every file present but no GPU, CreateSession fails
 *    ("CUDA failure 100: no CUDA-capable device is detected"). `auto` falls back to the CPU with
 *    fresh session options; `cuda` throws with ORT's message.
 */
import { checkCudaFiles, type CudaFileReport, type CudaProbe } from "./device_check.ts";
import type { OrtRuntime } from "./runtime.ts";
import type { InferenceSession } from "./session.ts";
import type { SessionOptions } from "./session_options.ts";

export type DeviceRequest = "auto" | "cuda" | "cpu";

export interface DeviceChoice {
  device: "cpu" | "cuda";
  /** One line for the log when `auto` fell back to the CPU. */
  warning?: string;
}

/** CUDA could not be used although it was required (`--device cuda`). */
export class DeviceUnavailableError extends Error {
  override name = "DeviceUnavailableError";
}

// Libraries loaded by absolute path stay open for the life of the process: that is what lets
// the CUDA provider's NEEDED entries resolve later.
const keptOpen: Deno.DynamicLibrary<Record<string, never>>[] = [];

/** The real probe: the file system and dlopen. */
export const systemProbe: CudaProbe = {
  exists(path) {
    try {
      return Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  },
  load(pathOrName) {
    try {
      keptOpen.push(Deno.dlopen(pathOrName, {}));
      return null;
    } catch (e) {
      return (e instanceof Error ? e.message : String(e)).replace(
        /^(Could not open library: )+/,
        "",
      );
    }
  },
};

function directoryOf(path: string): string {
  const real = (() => {
    try {
      return Deno.realPathSync(path);
    } catch {
      return path;
    }
  })();
  const i = real.lastIndexOf("/");
  return i <= 0 ? "." : real.slice(0, i);
}

/** The file check for this runtime's library. */
export function checkCuda(runtime: OrtRuntime, probe: CudaProbe = systemProbe): CudaFileReport {
  return checkCudaFiles(directoryOf(runtime.libraryPath), probe);
}

/** Stage 1: decides from the files alone. Throws DeviceUnavailableError for `cuda`. */
export function resolveDevice(
  runtime: OrtRuntime,
  request: DeviceRequest,
  probe: CudaProbe = systemProbe,
): DeviceChoice {
  if (request === "cpu") return { device: "cpu" };
  if (request !== "auto" && request !== "cuda") {
    throw new RangeError(`device must be auto, cuda or cpu, got "${request}"`);
  }
  const report = checkCuda(runtime, probe);
  if (report.ok) return { device: "cuda" };
  if (request === "cuda") throw new DeviceUnavailableError(report.message);
  return { device: "cpu", warning: `device auto: using the CPU. ${report.message}` };
}

/**
 * Stages 1 and 2: a session on the requested device, or on the CPU for `auto` when CUDA fails
 * at either stage.
 */
export function createSessionOnDevice(
  runtime: OrtRuntime,
  path: string,
  request: DeviceRequest,
  opts: Omit<SessionOptions, "device"> = {},
  probe: CudaProbe = systemProbe,
): { session: InferenceSession; device: "cpu" | "cuda"; warning?: string } {
  const choice = resolveDevice(runtime, request, probe);
  if (choice.device === "cpu") {
    return { session: runtime.createSession(path, { ...opts, device: "cpu" }), ...choice };
  }
  try {
    return { session: runtime.createSession(path, { ...opts, device: "cuda" }), device: "cuda" };
  } catch (e) {
    const reason = e instanceof Error ? e.message.split("\n")[0] : String(e);
    if (request === "cuda") {
      throw new DeviceUnavailableError(`CUDA session for ${path} failed: ${reason}`, { cause: e });
    }
    // Fresh options: the failed attempt's options were released with it and are never reused.
    const session = runtime.createSession(path, { ...opts, device: "cpu" });
    return {
      session,
      device: "cpu",
      warning: `device auto: using the CPU because the CUDA session failed: ${reason}`,
    };
  }
}
