/**
 * A Run whose inputs are values the caller holds (ORT-owned `ResidentValue`s, often the
 * outputs of another session's run, or `HostValue`s over small arrays) and whose outputs are
 * either host arrays bound in place or left for ORT to allocate, returned as ResidentValues.
 * This is how sessions are chained without their tensors ever being copied into TypeScript:
 * one FFI call per run, pointers in, pointers out.
 *
 * Names and pointer arrays are built once; each run rewrites the value pointers. Synchronous
 * (the decoding loop runs inside the inference worker); not reentrant.
 */
import type { BoundRunHost } from "./bound_run.ts";
import { addressOf, cString, cStringArray } from "./native.ts";
import { type HostValue, ResidentValue, type RunValue, VALUE_POINTER } from "./resident_value.ts";
import { statusToError } from "./status.ts";
import { countTransfer } from "./transfer_stats.ts";

export class ValueRun {
  readonly inputNames: readonly string[];
  readonly outputNames: readonly string[];
  #host: BoundRunHost;
  #names: Uint8Array<ArrayBuffer>[];
  #inputNamePtrs: BigUint64Array<ArrayBuffer>;
  #outputNamePtrs: BigUint64Array<ArrayBuffer>;
  #inputs: BigUint64Array<ArrayBuffer>;
  #outputs: BigUint64Array<ArrayBuffer>;

  /** @internal Built by InferenceSession.valueRun. */
  constructor(host: BoundRunHost, inputNames: readonly string[], outputNames: readonly string[]) {
    this.#host = host;
    this.inputNames = [...inputNames];
    this.outputNames = [...outputNames];
    this.#names = [...inputNames, ...outputNames].map(cString);
    this.#inputNamePtrs = cStringArray(this.#names.slice(0, inputNames.length));
    this.#outputNamePtrs = cStringArray(this.#names.slice(inputNames.length));
    this.#inputs = new BigUint64Array(Math.max(1, inputNames.length));
    this.#outputs = new BigUint64Array(Math.max(1, outputNames.length));
  }

  /**
   * Runs once. `inputs` in the order of `inputNames`; `outputs` in the order of `outputNames`:
   * a HostValue is written in place, `null` is allocated by ORT and returned (the caller owns
   * and closes it). The returned array has a ResidentValue exactly where `outputs` had null.
   */
  run(
    inputs: readonly RunValue[],
    outputs: readonly (HostValue | null)[],
  ): (ResidentValue | null)[] {
    const api = this.#host.api;
    const session = this.#host.session();
    if (inputs.length !== this.inputNames.length || outputs.length !== this.outputNames.length) {
      throw new RangeError(
        `ValueRun takes ${this.inputNames.length} inputs and ${this.outputNames.length} outputs`,
      );
    }
    let toOrt = 0;
    let fromOrt = 0;
    for (let i = 0; i < inputs.length; i++) {
      this.#inputs[i] = addressOf(inputs[i][VALUE_POINTER]());
      toOrt += inputs[i].hostBytes;
    }
    for (let i = 0; i < outputs.length; i++) {
      const o = outputs[i];
      // Zero asks ORT to allocate; a stale address here would be taken as a preallocated output.
      this.#outputs[i] = o === null ? 0n : addressOf(o[VALUE_POINTER]());
      if (o !== null) fromOrt += o.hostBytes;
    }
    const status = api.Run.call(
      session,
      null,
      this.#inputNamePtrs,
      this.#inputs,
      BigInt(inputs.length),
      this.#outputNamePtrs,
      BigInt(outputs.length),
      this.#outputs,
    );
    countTransfer(toOrt, fromOrt, 1);
    const result: (ResidentValue | null)[] = new Array(outputs.length).fill(null);
    for (let i = 0; i < outputs.length; i++) {
      if (outputs[i] !== null) continue;
      const p = Deno.UnsafePointer.create(this.#outputs[i]);
      this.#outputs[i] = 0n;
      if (p !== null) result[i] = new ResidentValue(api, p);
    }
    if (status !== null) {
      for (const v of result) v?.close();
      throw statusToError(api, status, "Run");
    }
    return result;
  }
}
