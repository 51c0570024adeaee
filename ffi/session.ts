/**
 * InferenceSession: one OrtSession, its input/output descriptions, and two ways to run it.
 *
 * - `run()` is synchronous (~6 µs of ORT for a trivial graph): for loops of many small calls
 *   inside a Worker, where blocking the thread is the point.
 * - `runAsync()` runs on Deno's blocking thread pool (`nonblocking: true`) and never blocks the
 *   event loop; it costs a thread hop (~75 µs). Feeds stay referenced until it settles.
 *
 * Closing while runs are in flight: `close()` returns at once, refuses new runs and releases the
 * native session when the last in-flight run settles (releasing it earlier would crash ORT).
 * Call `terminateRuns()` first to make those runs end quickly.
 */
import type { OrtApi } from "./api_table.ts";
import { BoundRun } from "./bound_run.ts";
import { NativeHandle } from "./handle.ts";
import { cString } from "./native.ts";
import { IoBinding, type MemoryDevice, MemoryInfo } from "./io_binding.ts";
import { HostValue, ResidentValue } from "./resident_value.ts";
import { PreparedRun } from "./run_call.ts";
import { RunOptions } from "./run_options.ts";
import type { RuntimeCore } from "./runtime_core.ts";
import type { ElementType, Tensor } from "./tensor.ts";
import { ValueRun } from "./value_run.ts";
import { readValueInfos, type ValueInfo } from "./value_info.ts";

export interface RunAsyncOptions {
  /** Aborting sets ORT's terminate flag; the promise then rejects with `signal.reason`. */
  signal?: AbortSignal;
}

export class InferenceSession implements Disposable {
  readonly path: string;
  readonly device: "cpu" | "cuda";
  /** The CUDA device the session runs on (0 on the CPU). */
  readonly deviceId: number;
  readonly inputs: readonly ValueInfo[];
  readonly outputs: readonly ValueInfo[];
  #handle: NativeHandle;
  #api: OrtApi;
  #core: RuntimeCore;
  #names = new Map<string, Uint8Array<ArrayBuffer>>();
  #outputNames: string[];
  #inFlight = new Set<RunOptions>();
  #closeRequested = false;

  /** @internal Built by OrtRuntime.createSession. */
  constructor(
    core: RuntimeCore,
    pointer: Deno.PointerObject,
    path: string,
    device: "cpu" | "cuda",
    deviceId = 0,
  ) {
    this.#core = core;
    this.deviceId = deviceId;
    this.#api = core.api;
    this.path = path;
    this.device = device;
    const api = this.#api;
    core.acquire();
    this.#handle = new NativeHandle("session", pointer, (p) => {
      api.ReleaseSession.call(p);
      core.release();
    });
    try {
      this.inputs = Object.freeze(readValueInfos(api, pointer, "input"));
      this.outputs = Object.freeze(readValueInfos(api, pointer, "output"));
    } catch (e) {
      this.#handle.close();
      throw e;
    }
    for (const info of [...this.inputs, ...this.outputs]) {
      this.#names.set(info.name, cString(info.name));
    }
    this.#outputNames = this.outputs.map((o) => o.name);
  }

  /** Number of runAsync calls not yet settled. */
  get runsInFlight(): number {
    return this.#inFlight.size;
  }

  get closed(): boolean {
    return this.#closeRequested;
  }

  /** Runs synchronously, blocking this thread. Returns the requested outputs (default all). */
  run(feeds: Record<string, Tensor>, outputNames?: readonly string[]): Record<string, Tensor> {
    const session = this.#sessionForRun();
    using prepared = new PreparedRun(
      this.#api,
      this.#core.memoryInfo,
      feeds,
      outputNames ?? this.#outputNames,
      this.#names,
    );
    const status = this.#api.Run.call(session, null, ...prepared.args);
    return prepared.finish(this.#api, status);
  }

  /** Runs on a native worker thread; the event loop stays free. */
  async runAsync(
    feeds: Record<string, Tensor>,
    outputNames?: readonly string[],
    options: RunAsyncOptions = {},
  ): Promise<Record<string, Tensor>> {
    const { signal } = options;
    signal?.throwIfAborted();
    const session = this.#sessionForRun();
    // `prepared` holds the feeds' typed arrays, their OrtValues and every pointer array until
    // this function returns: ORT reads them on another thread while we await.
    using prepared = new PreparedRun(
      this.#api,
      this.#core.memoryInfo,
      feeds,
      outputNames ?? this.#outputNames,
      this.#names,
    );
    const runOptions = new RunOptions(this.#api);
    const onAbort = () => runOptions.terminate();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#inFlight.add(runOptions);
    try {
      const status = await this.#api.RunNonBlocking.call(
        session,
        runOptions.pointer,
        ...prepared.args,
      );
      try {
        return prepared.finish(this.#api, status);
      } catch (e) {
        if (signal?.aborted) throw signal.reason;
        throw e;
      }
    } finally {
      signal?.removeEventListener("abort", onAbort);
      this.#inFlight.delete(runOptions);
      runOptions.close();
      if (this.#closeRequested && this.#inFlight.size === 0) this.#handle.close();
    }
  }

  /**
   * Binds inputs and preallocated outputs to this session once; each `run()` of the result is
   * then a single FFI call (see bound_run.ts for the measured difference). Write new input
   * values into the bound arrays in place; read results from `outputs[name].data`.
   */
  bind(inputs: Record<string, Tensor>, outputs: Record<string, Tensor>): BoundRun {
    return new BoundRun(
      {
        api: this.#api,
        memoryInfo: this.#core.memoryInfo,
        session: () => this.#sessionForRun(),
        track: (run) => this.#track(run),
      },
      inputs,
      outputs,
    );
  }

  /**
   * A run over caller-held values (see value_run.ts): chains sessions without copying their
   * tensors through TypeScript.
   */
  valueRun(inputNames: readonly string[], outputNames: readonly string[]): ValueRun {
    return new ValueRun(this.#host(), inputNames, outputNames);
  }

  /**
   * An IO binding on this session (see io_binding.ts): outputs left in the session's device
   * memory, inputs copied to it once when bound. The caller owns and closes it.
   */
  ioBinding(): IoBinding {
    return new IoBinding({
      api: this.#api,
      device: this.device,
      deviceId: this.deviceId,
      session: () => this.#sessionForRun(),
    });
  }

  /**
   * Memory for IoBinding.bindOutputTo: "device" is this session's device (CPU memory on the
   * CPU); "cpu" or "cuda" name one explicitly. CUDA memory is on the session's CUDA device
   * unless `deviceId` says otherwise. The caller owns and closes it.
   */
  memoryInfo(where: "device" | MemoryDevice, deviceId?: number): MemoryInfo {
    const device = where === "device" ? this.device : where;
    return new MemoryInfo(this.#api, device, deviceId ?? (device === "cuda" ? this.deviceId : 0));
  }

  /** An OrtValue over `t`'s array, for valueRun: the caller fills or reads `t.data` in place. */
  hostValue<T extends ElementType>(name: string, t: Tensor<T>): HostValue<T> {
    return new HostValue(this.#api, this.#core.memoryInfo, name, t);
  }

  /** A zero-filled tensor in ONNX Runtime's memory, for valueRun. */
  allocate(type: ElementType, dims: readonly number[]): ResidentValue {
    return ResidentValue.allocate(this.#api, type, dims);
  }

  #host() {
    return {
      api: this.#api,
      memoryInfo: this.#core.memoryInfo,
      session: () => this.#sessionForRun(),
      track: <T>(run: (runOptions: Deno.PointerObject) => Promise<T>) => this.#track(run),
    };
  }

  async #track<T>(run: (runOptions: Deno.PointerObject) => Promise<T>): Promise<T> {
    const runOptions = new RunOptions(this.#api);
    this.#inFlight.add(runOptions);
    try {
      return await run(runOptions.pointer);
    } finally {
      this.#inFlight.delete(runOptions);
      runOptions.close();
      if (this.#closeRequested && this.#inFlight.size === 0) this.#handle.close();
    }
  }

  /** Sets the terminate flag of every runAsync in flight (a watchdog's stop button). */
  terminateRuns(): void {
    for (const r of this.#inFlight) r.terminate();
  }

  /** Releases the session now, or when the last in-flight runAsync settles. Idempotent. */
  close(): void {
    this.#closeRequested = true;
    if (this.#inFlight.size === 0) this.#handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #sessionForRun(): Deno.PointerObject {
    if (this.#closeRequested) {
      throw new Error(`Cannot run session of ${this.path}: it is closed`);
    }
    return this.#handle.pointer;
  }
}
