/**
 * IO binding: a session's inputs and outputs bound by name to OrtValues or to a device, then run.
 *
 * Plain Run hands back every output ORT allocates in CPU memory, even when the session runs on
 * CUDA, so chaining runs over plain Run copies each tensor to the host and back. With a binding,
 * an output bound to a device (`bindOutputTo`) stays in that device's memory, and a value bound
 * as an input is copied to the device the session needs it on once, when it is bound — not on
 * every run. On the CPU the same calls pass pointers, so one code path serves both.
 *
 * An output bound to a device is allocated by the run; ORT keeps it in the binding and would
 * write the next run into the same buffer, so `bindOutputTo` is called again before each run
 * whose previous outputs are still in use. Values bound as inputs are referenced by ORT: closing
 * our ResidentValue while it is bound is safe.
 *
 * `IoBinding` and `MemoryInfo` each own one native handle, released by close()/dispose.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle, NativeOwner } from "./handle.ts";
import { cString, outSlot, requirePointer } from "./native.ts";
import { ResidentValue, type RunValue, VALUE_POINTER } from "./resident_value.ts";
import { check, OrtError, statusToError } from "./status.ts";
import { countTransfer } from "./transfer_stats.ts";

/** Where a bound output lives: host memory, or a CUDA device's memory. */
export type MemoryDevice = "cpu" | "cuda";

// OrtAllocatorType / OrtMemType (onnxruntime_c_api.h): the device's arena, default memory.
const ORT_ARENA_ALLOCATOR = 1;
const ORT_MEM_TYPE_DEFAULT = 0;
// The allocator name ORT's CUDA execution provider registers its device memory under.
const CUDA_ALLOCATOR_NAME = "Cuda";

/** An OrtMemoryInfo: names a device's memory for `bindOutputTo`. */
export class MemoryInfo extends NativeOwner {
  readonly device: MemoryDevice;
  readonly deviceId: number;
  protected readonly handle: NativeHandle;

  /** @internal Built by InferenceSession.memoryInfo. */
  constructor(api: OrtApi, device: MemoryDevice, deviceId = 0) {
    super();
    if (device !== "cpu" && device !== "cuda") {
      throw new RangeError(`memory device must be cpu or cuda, got "${device}"`);
    }
    if (!Number.isInteger(deviceId) || deviceId < 0) {
      throw new RangeError(`device id must be a non-negative integer, got ${deviceId}`);
    }
    const out = outSlot();
    if (device === "cpu") {
      check(
        api,
        api.CreateCpuMemoryInfo.call(ORT_ARENA_ALLOCATOR, ORT_MEM_TYPE_DEFAULT, out),
        "CreateCpuMemoryInfo",
      );
    } else {
      check(
        api,
        api.CreateMemoryInfo.call(
          cString(CUDA_ALLOCATOR_NAME),
          ORT_ARENA_ALLOCATOR,
          deviceId,
          ORT_MEM_TYPE_DEFAULT,
          out,
        ),
        "CreateMemoryInfo",
      );
    }
    this.device = device;
    this.deviceId = deviceId;
    this.handle = new NativeHandle(
      "memoryInfo",
      requirePointer(out, "OrtMemoryInfo"),
      (p) => api.ReleaseMemoryInfo.call(p),
    );
  }
}

/** Hooks into the owning session (kept out of the public surface). */
export interface IoBindingHost {
  api: OrtApi;
  /** The device the session runs on. */
  device: MemoryDevice;
  /** Its CUDA device (0 on the CPU). */
  deviceId: number;
  /** The session pointer; throws when the session is closed. */
  session(): Deno.PointerObject;
}

const countSlot = new BigUint64Array(1);

export class IoBinding implements Disposable {
  #host: IoBindingHost;
  #handle: NativeHandle;
  #names = new Map<string, Uint8Array<ArrayBuffer>>();
  /** Host bytes each bound name moves per run (0 for ORT-owned values and device outputs). */
  #inputBytes = new Map<string, number>();
  #outputBytes = new Map<string, number>();
  /** Bound output names, in the order GetBoundOutputValues returns their values. */
  #outputOrder: string[] = [];

  /** @internal Built by InferenceSession.ioBinding. */
  constructor(host: IoBindingHost) {
    this.#host = host;
    const api = host.api;
    const out = outSlot();
    check(api, api.CreateIoBinding.call(host.session(), out), "CreateIoBinding");
    this.#handle = new NativeHandle(
      "ioBinding",
      requirePointer(out, "OrtIoBinding"),
      (p) => api.ReleaseIoBinding.call(p),
    );
  }

  /** Names bound as outputs, in the order `outputs()` returns them. */
  get outputNames(): readonly string[] {
    return this.#outputOrder;
  }

  /**
   * Binds `value` to input `name`. When the session needs the input on another device, ORT
   * copies it there now; a host array changed after binding must be bound again to be seen.
   */
  bindInput(name: string, value: RunValue): void {
    const api = this.#host.api;
    const status = api.BindInput.call(
      this.#handle.pointer,
      this.#name(name),
      value[VALUE_POINTER](),
    );
    if (status !== null) {
      // ORT 1.30 records the name before it fails, and every later BindInput then fails a size
      // check: start the inputs over so the binding stays usable (the caller binds them again).
      this.clearInputs();
      throw statusToError(api, status, `BindInput(${name})`);
    }
    this.#inputBytes.set(name, value.hostBytes);
  }

  /** Binds output `name` to a preallocated value (a host array: ORT writes the result into it). */
  bindOutput(name: string, value: RunValue): void {
    const api = this.#host.api;
    check(
      api,
      api.BindOutput.call(this.#handle.pointer, this.#name(name), value[VALUE_POINTER]()),
      `BindOutput(${name})`,
    );
    this.#boundOutput(name, value.hostBytes);
  }

  /** Binds output `name` to `memory`: each run allocates it there. */
  bindOutputTo(name: string, memory: MemoryInfo): void {
    const api = this.#host.api;
    const operation = `BindOutputToDevice(${name}, ${memory.device}:${memory.deviceId})`;
    const { device, deviceId } = this.#host;
    if (memory.device !== "cpu" && memory.device !== device) {
      // ORT accepts this and leaves the output in CPU memory: refuse rather than fall back.
      throw new OrtError(
        "INVALID_ARGUMENT",
        operation,
        `the session runs on the ${device}, so its outputs cannot be bound to ` +
          `${memory.device} memory`,
      );
    }
    if (memory.device === "cuda" && memory.deviceId !== deviceId) {
      throw new OrtError(
        "INVALID_ARGUMENT",
        operation,
        `the session runs on CUDA device ${deviceId}, not ${memory.deviceId}`,
      );
    }
    check(
      api,
      api.BindOutputToDevice.call(this.#handle.pointer, this.#name(name), memory.pointer),
      operation,
    );
    this.#boundOutput(name, 0);
  }

  /** Runs the session once over what is bound. */
  run(): void {
    const api = this.#host.api;
    const status = api.RunWithBinding.call(this.#host.session(), null, this.#handle.pointer);
    let toOrt = 0;
    let fromOrt = 0;
    for (const b of this.#inputBytes.values()) toOrt += b;
    for (const b of this.#outputBytes.values()) fromOrt += b;
    countTransfer(toOrt, fromOrt, 1);
    check(api, status, "RunWithBinding");
  }

  /**
   * The values the last run left in the bound outputs, in `outputNames` order; the caller owns
   * and closes each (a value bound with `bindOutput` comes back as another reference to it).
   */
  outputs(): ResidentValue[] {
    const api = this.#host.api;
    const allocator = outSlot();
    check(
      api,
      api.GetAllocatorWithDefaultOptions.call(allocator),
      "GetAllocatorWithDefaultOptions",
    );
    const alloc = requirePointer(allocator, "OrtAllocator");
    const array = outSlot();
    check(
      api,
      api.GetBoundOutputValues.call(this.#handle.pointer, alloc, array, countSlot),
      "GetBoundOutputValues",
    );
    const count = Number(countSlot[0]);
    const base = Deno.UnsafePointer.create(array[0]);
    if (base === null) return [];
    const values: ResidentValue[] = [];
    try {
      // Each element is a new OrtValue that we own; wrap them all before anything can throw.
      const view = new Deno.UnsafePointerView(base);
      for (let i = 0; i < count; i++) {
        const p = view.getPointer(i * 8);
        if (p !== null) values.push(new ResidentValue(api, p));
      }
    } finally {
      const status = api.AllocatorFree.call(alloc, base);
      if (status !== null) {
        for (const v of values) v.close();
        // deno-lint-ignore no-unsafe-finally
        throw statusToError(api, status, "AllocatorFree");
      }
    }
    return values;
  }

  /** Unbinds every input (ORT drops its references to them). */
  clearInputs(): void {
    this.#host.api.ClearBoundInputs.call(this.#handle.pointer);
    this.#inputBytes.clear();
  }

  /** Unbinds every output, releasing ORT's references to the last run's outputs. */
  clearOutputs(): void {
    this.#host.api.ClearBoundOutputs.call(this.#handle.pointer);
    this.#outputBytes.clear();
    this.#outputOrder = [];
  }

  /** Waits until every bound input's copy to its device has finished. */
  synchronizeInputs(): void {
    const api = this.#host.api;
    check(api, api.SynchronizeBoundInputs.call(this.#handle.pointer), "SynchronizeBoundInputs");
  }

  /** Waits until the last run's outputs are complete on their devices. */
  synchronizeOutputs(): void {
    const api = this.#host.api;
    check(api, api.SynchronizeBoundOutputs.call(this.#handle.pointer), "SynchronizeBoundOutputs");
  }

  close(): void {
    this.#handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #boundOutput(name: string, hostBytes: number): void {
    if (!this.#outputBytes.has(name)) this.#outputOrder.push(name);
    this.#outputBytes.set(name, hostBytes);
  }

  #name(name: string): Uint8Array<ArrayBuffer> {
    let c = this.#names.get(name);
    if (c === undefined) {
      c = cString(name);
      this.#names.set(name, c);
    }
    return c;
  }
}
