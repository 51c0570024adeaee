/**
 * OrtRunOptions for one asynchronous Run, so that a watchdog (an AbortSignal or
 * InferenceSession.terminateRuns) can set its terminate flag while the Run executes on another
 * thread. ORT checks the flag between kernels and inside loops; the Run then fails.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle, NativeOwner } from "./handle.ts";
import { outSlot, requirePointer } from "./native.ts";
import { check } from "./status.ts";

export class RunOptions extends NativeOwner {
  protected readonly handle: NativeHandle;
  #api: OrtApi;
  #terminated = false;

  constructor(api: OrtApi) {
    super();
    this.#api = api;
    const out = outSlot();
    check(api, api.CreateRunOptions.call(out), "CreateRunOptions");
    this.handle = new NativeHandle(
      "runOptions",
      requirePointer(out, "OrtRunOptions"),
      (p) => api.ReleaseRunOptions.call(p),
    );
  }

  get terminated(): boolean {
    return this.#terminated;
  }

  /** Asks ORT to stop the Run using these options. Safe to call more than once. */
  terminate(): void {
    if (this.#terminated || this.handle.closed) return;
    this.#terminated = true;
    check(
      this.#api,
      this.#api.RunOptionsSetTerminate.call(this.handle.pointer),
      "RunOptionsSetTerminate",
    );
  }
}
