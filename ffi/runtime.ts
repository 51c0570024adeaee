/**
 * OrtRuntime: the entry point. Loads the library, owns the OrtEnv, creates sessions.
 */
import { openOrtLibrary } from "./library.ts";
import { cString, outSlot, readCString, requirePointer } from "./native.ts";
import { type LogLevel, RuntimeCore } from "./runtime_core.ts";
import { InferenceSession } from "./session.ts";
import { NativeSessionOptions, type SessionOptions } from "./session_options.ts";
import { check } from "./status.ts";

export interface RuntimeLoadOptions {
  /** The library file or its directory; overrides ORT_LIB and the usual places. */
  libPath?: string;
  /** ORT's own logger (stderr). Default "warning". */
  logLevel?: LogLevel;
}

export class OrtRuntime implements Disposable {
  readonly version: string;
  readonly libraryPath: string;
  #core: RuntimeCore;

  private constructor(core: RuntimeCore) {
    this.#core = core;
    this.version = core.library.version;
    this.libraryPath = core.library.path;
  }

  /** Finds and loads libonnxruntime.so.1 (see library.ts for the search order). */
  static load(opts: RuntimeLoadOptions = {}): OrtRuntime {
    const library = openOrtLibrary({ libPath: opts.libPath });
    return new OrtRuntime(new RuntimeCore(library, opts.logLevel ?? "warning"));
  }

  /**
   * Execution providers this build of ONNX Runtime supports (e.g. CUDAExecutionProvider).
   * It says what the build supports, not what works on this host: see resolveDevice.
   */
  availableProviders(): string[] {
    const api = this.#core.api;
    const list = outSlot();
    const count = new Int32Array(1);
    check(api, api.GetAvailableProviders.call(list, count), "GetAvailableProviders");
    const array = requirePointer(list, "provider list");
    try {
      const view = new Deno.UnsafePointerView(array);
      const names: string[] = [];
      for (let i = 0; i < count[0]; i++) {
        const p = view.getPointer(i * 8);
        if (p !== null) names.push(readCString(p));
      }
      return names;
    } finally {
      check(api, api.ReleaseAvailableProviders.call(array, count[0]), "ReleaseAvailableProviders");
    }
  }

  /**
   * Loads a model file. External data files are resolved by ORT relative to the model file's
   * directory, whatever the current directory is.
   */
  createSession(path: string, opts: SessionOptions = { device: "cpu" }): InferenceSession {
    const core = this.#core;
    if (core.closed) throw new Error(`Cannot load ${path}: OrtRuntime is closed`);
    const api = core.api;
    using options = new NativeSessionOptions(api, opts);
    const out = outSlot();
    check(
      api,
      api.CreateSession.call(core.env, cString(path), options.pointer, out),
      `CreateSession(${path})`,
    );
    return new InferenceSession(
      core,
      requirePointer(out, "OrtSession"),
      path,
      opts.device,
      cudaDeviceIdOf(opts),
    );
  }

  /**
   * Loads a model from its serialized ONNX bytes; `label` names it in errors and in
   * `session.path`.
   */
  createSessionFromBytes(
    bytes: Uint8Array<ArrayBuffer>,
    label: string,
    opts: SessionOptions = { device: "cpu" },
  ): InferenceSession {
    const core = this.#core;
    if (core.closed) throw new Error(`Cannot load ${label}: OrtRuntime is closed`);
    const api = core.api;
    using options = new NativeSessionOptions(api, opts);
    const out = outSlot();
    check(
      api,
      api.CreateSessionFromArray.call(
        core.env,
        bytes,
        BigInt(bytes.byteLength),
        options.pointer,
        out,
      ),
      `CreateSessionFromArray(${label})`,
    );
    return new InferenceSession(
      core,
      requirePointer(out, "OrtSession"),
      label,
      opts.device,
      cudaDeviceIdOf(opts),
    );
  }

  /** Releases the env once every session of this runtime is closed. Idempotent. */
  close(): void {
    this.#core.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** The CUDA device a session's options select (0 unless one is named), as the provider reads it. */
function cudaDeviceIdOf(opts: SessionOptions): number {
  return opts.cuda?.deviceId ?? opts.cudaDeviceId ?? 0;
}
