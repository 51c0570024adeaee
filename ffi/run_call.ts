/**
 * One Run: feeds wrapped as OrtValues, name and value pointer arrays built, the outputs array
 * zeroed (a stale pointer there is taken as a preallocated output: segfault), then the outputs
 * copied out and every OrtValue released, on success and on failure alike.
 */
import type { OrtApi } from "./api_table.ts";
import { addressOf, cString, cStringArray } from "./native.ts";
import { InputValue, readOutputValue } from "./ort_value.ts";
import { statusToError } from "./status.ts";
import type { Tensor } from "./tensor.ts";

/** Everything ORT reads or writes during one Run. Holding it keeps all of it alive. */
export class PreparedRun implements Disposable {
  readonly inputs: InputValue[] = [];
  readonly inputNames: Uint8Array<ArrayBuffer>[];
  readonly outputNames: Uint8Array<ArrayBuffer>[];
  readonly inputNamePtrs: BigUint64Array<ArrayBuffer>;
  readonly inputValuePtrs: BigUint64Array<ArrayBuffer>;
  readonly outputNamePtrs: BigUint64Array<ArrayBuffer>;
  readonly outputValues: BigUint64Array<ArrayBuffer>;
  readonly names: string[];

  constructor(
    api: OrtApi,
    memoryInfo: Deno.PointerObject,
    feeds: Record<string, Tensor>,
    outputNames: readonly string[],
    nameCache: Map<string, Uint8Array<ArrayBuffer>>,
  ) {
    const encode = (n: string) => nameCache.get(n) ?? cString(n);
    const feedNames = Object.keys(feeds);
    this.inputNames = feedNames.map(encode);
    this.outputNames = outputNames.map(encode);
    this.names = [...outputNames];
    try {
      for (const name of feedNames) {
        this.inputs.push(new InputValue(api, memoryInfo, name, feeds[name]));
      }
    } catch (e) {
      this.close();
      throw e;
    }
    this.inputNamePtrs = cStringArray(this.inputNames);
    this.inputValuePtrs = new BigUint64Array(Math.max(1, this.inputs.length));
    this.inputs.forEach((v, i) => this.inputValuePtrs[i] = addressOf(v.pointer));
    this.outputNamePtrs = cStringArray(this.outputNames);
    this.outputValues = new BigUint64Array(Math.max(1, outputNames.length)); // zeroed
  }

  /** Arguments 3..8 of OrtApi::Run, in order. */
  get args() {
    return [
      this.inputNamePtrs,
      this.inputValuePtrs,
      BigInt(this.inputs.length),
      this.outputNamePtrs,
      BigInt(this.outputNames.length),
      this.outputValues,
    ] as const;
  }

  /**
   * Turns Run's status into outputs or an error. Every output OrtValue ORT produced is released
   * here, whichever way it goes.
   */
  finish(api: OrtApi, status: Deno.PointerValue): Record<string, Tensor> {
    const error = status === null ? null : statusToError(api, status, "Run");
    const result: Record<string, Tensor> = {};
    let readError: unknown = null;
    for (let i = 0; i < this.names.length; i++) {
      const p = Deno.UnsafePointer.create(this.outputValues[i]);
      if (p === null) continue;
      try {
        if (error === null && readError === null) {
          result[this.names[i]] = readOutputValue(api, p, this.names[i]);
        }
      } catch (e) {
        readError = e;
      } finally {
        api.ReleaseValue.call(p);
        this.outputValues[i] = 0n;
      }
    }
    if (error !== null) throw error;
    if (readError !== null) throw readError;
    return result;
  }

  close(): void {
    for (const v of this.inputs) v.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
