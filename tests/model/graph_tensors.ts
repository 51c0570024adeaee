/** Small typed tensors for the helper-graph tests. */
import type { Tensor } from "../../ffi/mod.ts";

export const f32 = (dims: number[], data: number[] | Float32Array): Tensor => ({
  type: "float32",
  dims,
  data: Float32Array.from(data),
});

export const i64 = (dims: number[], data: number[]): Tensor => ({
  type: "int64",
  dims,
  data: BigInt64Array.from(data, BigInt),
});
