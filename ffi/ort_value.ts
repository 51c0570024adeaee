/**
 * OrtValue ↔ plain Tensor. Inputs wrap the caller's typed array without copying
 * (CreateTensorWithDataAsOrtValue); the OrtValue owner keeps the array referenced for as long as
 * the value lives. Outputs are copied into fresh typed arrays, so the OrtValue can be released
 * right after.
 */
import type { OrtApi } from "./api_table.ts";
import { NativeHandle, NativeOwner } from "./handle.ts";
import { outSlot, requirePointer } from "./native.ts";
import { check, OrtError } from "./status.ts";
import {
  allocateData,
  elementCount,
  elementTypeName,
  isElementType,
  ONNX_TYPE_CODES,
  type Tensor,
  type TensorData,
  validateTensor,
} from "./tensor.ts";

/** An OrtValue over a caller's typed array. Owns the value and pins the array and shape. */
export class InputValue extends NativeOwner {
  protected readonly handle: NativeHandle;
  // ORT reads these while the value lives: holding them here is what keeps them alive.
  readonly data: TensorData;
  readonly shape: BigInt64Array;

  constructor(api: OrtApi, memoryInfo: Deno.PointerObject, name: string, t: Tensor) {
    super();
    validateTensor(name, t);
    this.data = t.data;
    this.shape = BigInt64Array.from(t.dims, (d) => BigInt(d));
    const out = outSlot();
    // A zero-length typed array has no data pointer; ORT accepts NULL data for 0 bytes.
    const bytes = t.data.byteLength === 0 ? null : t.data;
    check(
      api,
      api.CreateTensorWithDataAsOrtValue.call(
        memoryInfo,
        bytes,
        BigInt(t.data.byteLength),
        this.shape,
        BigInt(this.shape.length),
        ONNX_TYPE_CODES[t.type],
        out,
      ),
      `CreateTensorWithDataAsOrtValue for input "${name}"`,
    );
    const value = requirePointer(out, "OrtValue");
    this.handle = new NativeHandle("value", value, (p) => api.ReleaseValue.call(p));
  }
}

// Scratch out-parameters: reading an output is synchronous, so one set per isolate suffices.
const infoSlot = outSlot();
const dataSlot = outSlot();
const typeSlot = new Int32Array(1);
const countSlot = new BigUint64Array(1);

/**
 * Copies an output OrtValue into a fresh Tensor, its dims read from the value itself.
 * Does not release the value: the caller owns it.
 */
export function readOutputValue(api: OrtApi, value: Deno.PointerObject, name: string): Tensor {
  const op = `reading output "${name}"`;
  check(api, api.GetTensorTypeAndShape.call(value, infoSlot), op);
  const info = requirePointer(infoSlot, "OrtTensorTypeAndShapeInfo");
  let code: number;
  let dims: number[];
  try {
    check(api, api.GetTensorElementType.call(info, typeSlot), op);
    code = typeSlot[0];
    check(api, api.GetDimensionsCount.call(info, countSlot), op);
    const shape = new BigInt64Array(Number(countSlot[0]));
    if (shape.length > 0) check(api, api.GetDimensions.call(info, shape, BigInt(shape.length)), op);
    dims = Array.from(shape, Number);
  } finally {
    api.ReleaseTensorTypeAndShapeInfo.call(info);
  }
  const type = elementTypeName(code);
  if (!isElementType(type)) {
    throw new OrtError("NOT_IMPLEMENTED", op, `element type ${type} has no typed-array mapping`);
  }
  const data = allocateData(type, elementCount(dims));
  if (data.byteLength > 0) {
    check(api, api.GetTensorMutableData.call(value, dataSlot), op);
    const src = requirePointer(dataSlot, "tensor data");
    Deno.UnsafePointerView.copyInto(src, new Uint8Array(data.buffer), 0);
  }
  return { type, dims, data } as Tensor;
}
