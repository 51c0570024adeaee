/**
 * Tensors handed between runs without passing through TypeScript.
 *
 * - `ResidentValue`: an OrtValue whose memory ONNX Runtime owns: allocated by its allocator, or
 *   an output a run allocated. Feeding it to the next run is passing a pointer; its bytes never
 *   cross. `write`/`read` copy explicitly, and are counted (transfer_stats.ts).
 * - `HostValue`: an OrtValue over a caller's typed array (no copy): the small per-call tensors
 *   the caller fills or reads (indices in, argmaxes out). Every run that binds it counts its bytes.
 *
 * Both are CPU memory today: `read`/`write` go through GetTensorMutableData, which on a GPU
 * value would give a device pointer.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle } from "./handle.ts";
import { outSlot, requirePointer } from "./native.ts";
import { InputValue, readOutputValue } from "./ort_value.ts";
import { check } from "./status.ts";
import { countTransfer } from "./transfer_stats.ts";
import {
  bytesPerElement,
  type ElementType,
  elementTypeName,
  isElementType,
  ONNX_TYPE_CODES,
  type Tensor,
  type TensorData,
} from "./tensor.ts";

/** @internal The OrtValue behind a ResidentValue or HostValue, for runs inside ffi/. */
export const VALUE_POINTER: unique symbol = Symbol("OrtValue pointer");

export interface RunValue {
  [VALUE_POINTER](): Deno.PointerObject;
  /** Bytes a run moves between TypeScript and ORT when it binds this value (0: ORT-owned). */
  readonly hostBytes: number;
}

const dataSlot = outSlot();

export class ResidentValue implements RunValue, Disposable {
  readonly hostBytes = 0;
  #api: OrtApi;
  #handle: NativeHandle;

  /** @internal Takes ownership of `pointer` (released by close()). */
  constructor(api: OrtApi, pointer: Deno.PointerObject) {
    this.#api = api;
    this.#handle = new NativeHandle("value", pointer, (p) => api.ReleaseValue.call(p));
  }

  /** @internal A zero-filled tensor from ORT's default CPU allocator. */
  static allocate(api: OrtApi, type: ElementType, dims: readonly number[]): ResidentValue {
    const allocator = outSlot();
    check(
      api,
      api.GetAllocatorWithDefaultOptions.call(allocator),
      "GetAllocatorWithDefaultOptions",
    );
    const shape = BigInt64Array.from(dims, (d) => BigInt(d));
    const out = outSlot();
    check(
      api,
      api.CreateTensorAsOrtValue.call(
        requirePointer(allocator, "OrtAllocator"),
        shape,
        BigInt(shape.length),
        ONNX_TYPE_CODES[type],
        out,
      ),
      "CreateTensorAsOrtValue",
    );
    const value = new ResidentValue(api, requirePointer(out, "OrtValue"));
    value.#bytes().fill(0);
    return value;
  }

  [VALUE_POINTER](): Deno.PointerObject {
    return this.#handle.pointer;
  }

  /** Copies `data` (exactly the value's byte size) into the value. */
  write(data: TensorData): void {
    const bytes = this.#bytes();
    if (data.byteLength !== bytes.length) {
      throw new RangeError(`writing ${data.byteLength} bytes into a value of ${bytes.length}`);
    }
    bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
    countTransfer(data.byteLength, 0);
  }

  /** Copies the value out, dims and type read from it. */
  read(name = "value"): Tensor {
    const t = readOutputValue(this.#api, this.#handle.pointer, name);
    countTransfer(0, t.data.byteLength);
    return t;
  }

  close(): void {
    this.#handle.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #bytes(): Uint8Array {
    check(this.#api, this.#api.GetTensorMutableData.call(this.#handle.pointer, dataSlot), "data");
    const p = Deno.UnsafePointer.create(dataSlot[0]);
    const size = byteSizeOf(this.#api, this.#handle.pointer);
    if (p === null || size === 0) return new Uint8Array(0);
    return new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, size));
  }
}

const infoSlot = outSlot();
const typeSlot = new Int32Array(1);
const countSlot = new BigUint64Array(1);

function byteSizeOf(api: OrtApi, value: Deno.PointerObject): number {
  check(api, api.GetTensorTypeAndShape.call(value, infoSlot), "GetTensorTypeAndShape");
  const info = requirePointer(infoSlot, "OrtTensorTypeAndShapeInfo");
  try {
    check(api, api.GetTensorElementType.call(info, typeSlot), "GetTensorElementType");
    check(api, api.GetDimensionsCount.call(info, countSlot), "GetDimensionsCount");
    const shape = new BigInt64Array(Number(countSlot[0]));
    if (shape.length > 0) {
      check(api, api.GetDimensions.call(info, shape, BigInt(shape.length)), "GetDimensions");
    }
    const type = elementTypeName(typeSlot[0]);
    if (!isElementType(type)) throw new RangeError(`element type ${type} has no byte size`);
    return shape.reduce((a, b) => a * Number(b), 1) * bytesPerElement(type);
  } finally {
    api.ReleaseTensorTypeAndShapeInfo.call(info);
  }
}

export class HostValue<T extends ElementType = ElementType> implements RunValue, Disposable {
  readonly tensor: Tensor<T>;
  readonly hostBytes: number;
  #value: InputValue;

  /** @internal Built by InferenceSession.hostValue. */
  constructor(api: OrtApi, memoryInfo: Deno.PointerObject, name: string, t: Tensor<T>) {
    this.#value = new InputValue(api, memoryInfo, name, t);
    this.tensor = t;
    this.hostBytes = t.data.byteLength;
  }

  get data(): Tensor<T>["data"] {
    return this.tensor.data;
  }

  [VALUE_POINTER](): Deno.PointerObject {
    return this.#value.pointer;
  }

  close(): void {
    this.#value.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
