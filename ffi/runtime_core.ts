/**
 * What every session of one OrtRuntime shares: the bound API, the OrtEnv and the CPU memory
 * info used for input tensors. Sessions take a lease; the env and memory info are released only
 * when the runtime is closed and the last session is gone (ORT requires the env to outlive its
 * sessions), whichever comes last.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle } from "./handle.ts";
import type { OrtLibrary } from "./library.ts";
import { cString, outSlot, requirePointer } from "./native.ts";
import { check } from "./status.ts";

export type LogLevel = "verbose" | "info" | "warning" | "error" | "fatal";
const LOG_LEVELS: Record<LogLevel, number> = {
  verbose: 0,
  info: 1,
  warning: 2,
  error: 3,
  fatal: 4,
};

// OrtAllocatorType / OrtMemType values: CPU memory that ORT does not own (caller's arrays).
const ORT_DEVICE_ALLOCATOR = 0;
const ORT_MEM_TYPE_DEFAULT = 0;

export class RuntimeCore {
  readonly api: OrtApi;
  readonly library: OrtLibrary;
  #env: NativeHandle;
  #memoryInfo: NativeHandle;
  #leases = 0;
  #closing = false;

  constructor(library: OrtLibrary, logLevel: LogLevel) {
    this.library = library;
    const api = this.api = library.api;
    if (!(logLevel in LOG_LEVELS)) throw new RangeError(`Unknown ORT log level "${logLevel}"`);
    const out = outSlot();
    check(api, api.CreateEnv.call(LOG_LEVELS[logLevel], cString("parakeet"), out), "CreateEnv");
    this.#env = new NativeHandle(
      "env",
      requirePointer(out, "OrtEnv"),
      (p) => api.ReleaseEnv.call(p),
    );
    try {
      check(
        api,
        api.CreateCpuMemoryInfo.call(ORT_DEVICE_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, out),
        "CreateCpuMemoryInfo",
      );
    } catch (e) {
      this.#env.close();
      throw e;
    }
    this.#memoryInfo = new NativeHandle(
      "memoryInfo",
      requirePointer(out, "OrtMemoryInfo"),
      (p) => api.ReleaseMemoryInfo.call(p),
    );
  }

  get env(): Deno.PointerObject {
    return this.#env.pointer;
  }

  get memoryInfo(): Deno.PointerObject {
    return this.#memoryInfo.pointer;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** A session starts using the env. */
  acquire(): void {
    if (this.#closing) throw new Error("OrtRuntime is closed");
    this.#leases++;
  }

  /** A session has been released. */
  release(): void {
    this.#leases--;
    this.#maybeFree();
  }

  close(): void {
    this.#closing = true;
    this.#maybeFree();
  }

  #maybeFree(): void {
    if (!this.#closing || this.#leases > 0) return;
    this.#memoryInfo.close();
    this.#env.close();
  }
}
