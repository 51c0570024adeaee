/**
 * A Run with its inputs and outputs bound once to caller-owned typed arrays: the fast path for
 * the TDT joint decoder, called many times per step with the same shapes.
 *
 * Measured (bench/micro/ffi_run.ts): ORT's Run of a tiny graph is ~5–8 µs, but wrapping each
 * input in a fresh OrtValue (~6 µs each) and copying each output out (~8 µs each) made a
 * 5-input/4-output joint call cost ~100 µs. Bound, a call is one FFI call: the caller writes
 * new values into the input arrays in place, calls run(), and reads the output arrays.
 *
 * Outputs are preallocated OrtValues over the caller's arrays (ORT writes into them; a shape
 * the model does not produce is an error from ORT). Not reentrant: one run at a time.
 */
import type { OrtApi } from "./api_table.ts";
import { addressOf, cString, cStringArray } from "./native.ts";
import { InputValue } from "./ort_value.ts";
import { check } from "./status.ts";
import type { Tensor } from "./tensor.ts";
import { countTransfer } from "./transfer_stats.ts";

/** Hooks into the owning session (kept out of the public surface). */
export interface BoundRunHost {
  api: OrtApi;
  memoryInfo: Deno.PointerObject;
  /** The session pointer; throws when the session is closed. */
  session(): Deno.PointerObject;
  /**
   * Registers an asynchronous run so the session is not released under it; `run` gets the
   * OrtRunOptions that InferenceSession.terminateRuns() can stop.
   */
  track<T>(run: (runOptions: Deno.PointerObject) => Promise<T>): Promise<T>;
}

export class BoundRun implements Disposable {
  readonly inputs: Readonly<Record<string, Tensor>>;
  readonly outputs: Readonly<Record<string, Tensor>>;
  #host: BoundRunHost;
  #values: InputValue[] = [];
  #names: Uint8Array<ArrayBuffer>[];
  #args: readonly [
    BigUint64Array<ArrayBuffer>,
    BigUint64Array<ArrayBuffer>,
    bigint,
    BigUint64Array<ArrayBuffer>,
    bigint,
    BigUint64Array<ArrayBuffer>,
  ];
  #outputPointers: BigUint64Array<ArrayBuffer>;
  #busy = false;
  #closed = false;
  // Every bound array crosses on every run: ORT reads the inputs and writes the outputs.
  #inputBytes: number;
  #outputBytes: number;

  constructor(host: BoundRunHost, inputs: Record<string, Tensor>, outputs: Record<string, Tensor>) {
    this.#host = host;
    this.inputs = inputs;
    this.outputs = outputs;
    const inNames = Object.keys(inputs);
    const outNames = Object.keys(outputs);
    this.#inputBytes = inNames.reduce((sum, n) => sum + inputs[n].data.byteLength, 0);
    this.#outputBytes = outNames.reduce((sum, n) => sum + outputs[n].data.byteLength, 0);
    this.#names = [...inNames, ...outNames].map(cString);
    try {
      for (const n of inNames) {
        this.#values.push(new InputValue(host.api, host.memoryInfo, n, inputs[n]));
      }
      for (const n of outNames) {
        this.#values.push(new InputValue(host.api, host.memoryInfo, n, outputs[n]));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    const valuePtrs = this.#values.map((v) => addressOf(v.pointer));
    const inputValues = BigUint64Array.from(valuePtrs.slice(0, inNames.length));
    this.#outputPointers = BigUint64Array.from(valuePtrs.slice(inNames.length));
    this.#args = [
      cStringArray(this.#names.slice(0, inNames.length)),
      inputValues,
      BigInt(inNames.length),
      cStringArray(this.#names.slice(inNames.length)),
      BigInt(outNames.length),
      new BigUint64Array(Math.max(1, outNames.length)),
    ];
  }

  #begin(): Deno.PointerObject {
    if (this.#closed) throw new Error("BoundRun is closed");
    if (this.#busy) throw new Error("BoundRun is already running: one run at a time");
    const session = this.#host.session();
    // Rewritten before every Run: these must be our preallocated outputs, never stale values.
    this.#args[5].set(this.#outputPointers);
    return session;
  }

  /** Runs synchronously; results are in `outputs[name].data`. */
  run(): void {
    const session = this.#begin();
    check(this.#host.api, this.#host.api.Run.call(session, null, ...this.#args), "Run");
    countTransfer(this.#inputBytes, this.#outputBytes, 1);
  }

  /** Runs on a native thread; the arrays must not be touched until it settles. */
  runAsync(): Promise<void> {
    const session = this.#begin();
    this.#busy = true;
    return this.#host.track(async (runOptions) => {
      try {
        const status = await this.#host.api.RunNonBlocking.call(session, runOptions, ...this.#args);
        check(this.#host.api, status, "Run");
        countTransfer(this.#inputBytes, this.#outputBytes, 1);
      } finally {
        this.#busy = false;
      }
    });
  }

  close(): void {
    if (this.#busy) throw new Error("Cannot close a BoundRun while its runAsync is in flight");
    this.#closed = true;
    for (const v of this.#values) v.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
