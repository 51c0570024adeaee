/**
 * Plain tensors: what callers pass to and get back from a session. No pointers here.
 */

/** Element types with a typed-array representation. */
export type ElementType =
  | "float32"
  | "uint8"
  | "int8"
  | "uint16"
  | "int16"
  | "int32"
  | "int64"
  | "bool"
  | "float16"
  | "float64"
  | "uint32"
  | "uint64";

export interface TensorDataMap {
  float32: Float32Array;
  uint8: Uint8Array;
  int8: Int8Array;
  uint16: Uint16Array;
  int16: Int16Array;
  int32: Int32Array;
  int64: BigInt64Array;
  bool: Uint8Array;
  float16: Float16Array;
  float64: Float64Array;
  uint32: Uint32Array;
  uint64: BigUint64Array;
}

export type TensorData = TensorDataMap[ElementType];

/** A dense tensor in row-major order; `data.length` is the product of `dims`. */
export interface Tensor<T extends ElementType = ElementType> {
  type: T;
  dims: readonly number[];
  data: TensorDataMap[T];
}

/** ONNXTensorElementDataType values (onnxruntime_c_api.h). */
export const ONNX_TYPE_CODES: Record<ElementType, number> = {
  float32: 1,
  uint8: 2,
  int8: 3,
  uint16: 4,
  int16: 5,
  int32: 6,
  int64: 7,
  bool: 9,
  float16: 10,
  float64: 11,
  uint32: 12,
  uint64: 13,
};

const NAMES_BY_CODE = new Map(Object.entries(ONNX_TYPE_CODES).map(([k, v]) => [v, k]));
const OTHER_NAMES: Record<number, string> = { 0: "undefined", 8: "string", 16: "bfloat16" };

/** The ElementType of an ONNX type code, or a descriptive name for types we do not map. */
export function elementTypeName(code: number): string {
  return NAMES_BY_CODE.get(code) ?? OTHER_NAMES[code] ?? `onnx_type_${code}`;
}

export function isElementType(name: string): name is ElementType {
  return name in ONNX_TYPE_CODES;
}

type Ctor = { new (length: number): TensorData; readonly BYTES_PER_ELEMENT: number };
const CTORS: Record<ElementType, Ctor> = {
  float32: Float32Array,
  uint8: Uint8Array,
  int8: Int8Array,
  uint16: Uint16Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
  bool: Uint8Array,
  float16: Float16Array,
  float64: Float64Array,
  uint32: Uint32Array,
  uint64: BigUint64Array,
};

/** A zero-filled typed array of the right class for `type`. */
export function allocateData<T extends ElementType>(type: T, length: number): TensorDataMap[T] {
  return new CTORS[type](length) as TensorDataMap[T];
}

export function bytesPerElement(type: ElementType): number {
  return CTORS[type].BYTES_PER_ELEMENT;
}

export function elementCount(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Throws unless `t` is well formed: known type, matching array class, length = product(dims). */
export function validateTensor(name: string, t: Tensor): void {
  if (!isElementType(t.type)) {
    throw new TypeError(`Input "${name}": unknown element type "${t.type}"`);
  }
  const ctor = CTORS[t.type];
  if (!(t.data instanceof (ctor as unknown as typeof Uint8Array))) {
    throw new TypeError(
      `Input "${name}": a ${t.type} tensor needs a ${ctor.name}, got ${
        (t.data as object)?.constructor?.name ?? typeof t.data
      }`,
    );
  }
  for (const d of t.dims) {
    if (!Number.isInteger(d) || d < 0) {
      throw new RangeError(`Input "${name}": dims must be non-negative integers, got [${t.dims}]`);
    }
  }
  const n = elementCount(t.dims);
  if (n !== t.data.length) {
    throw new RangeError(
      `Input "${name}": dims [${t.dims}] hold ${n} elements but the data has ${t.data.length}`,
    );
  }
}

/** Builds a tensor; `data` defaults to zeros. */
export function tensor<T extends ElementType>(
  type: T,
  dims: readonly number[],
  data?: TensorDataMap[T],
): Tensor<T> {
  return { type, dims: [...dims], data: data ?? allocateData(type, elementCount(dims)) };
}
