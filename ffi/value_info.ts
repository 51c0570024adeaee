/**
 * A session's input and output descriptions: name, element type and shape, symbolic dims given
 * by their symbol name (e.g. "batch") and unnamed dynamic dims as -1.
 */
import type { OrtApi } from "./api_table.ts";
import { outSlot, pointerAt, readCString, requirePointer } from "./native.ts";
import { check } from "./status.ts";
import { elementTypeName } from "./tensor.ts";

export interface ValueInfo {
  name: string;
  /** An ElementType name, or e.g. "string" / "sequence" for values this layer cannot carry. */
  type: string;
  dims: (number | string)[];
}

type Side = "input" | "output";

function allocator(api: OrtApi): Deno.PointerObject {
  const out = outSlot();
  check(api, api.GetAllocatorWithDefaultOptions.call(out), "GetAllocatorWithDefaultOptions");
  return requirePointer(out, "OrtAllocator");
}

/** Describes every input or output of `session`. */
export function readValueInfos(api: OrtApi, session: Deno.PointerObject, side: Side): ValueInfo[] {
  const countSlot = new BigUint64Array(1);
  const countFn = side === "input" ? api.SessionGetInputCount : api.SessionGetOutputCount;
  check(api, countFn.call(session, countSlot), `SessionGet${side}Count`);
  const alloc = allocator(api);
  const infos: ValueInfo[] = [];
  for (let i = 0; i < Number(countSlot[0]); i++) {
    infos.push({
      name: readName(api, session, side, i, alloc),
      ...readType(api, session, side, i),
    });
  }
  return infos;
}

function readName(
  api: OrtApi,
  session: Deno.PointerObject,
  side: Side,
  index: number,
  alloc: Deno.PointerObject,
): string {
  const out = outSlot();
  const fn = side === "input" ? api.SessionGetInputName : api.SessionGetOutputName;
  check(api, fn.call(session, BigInt(index), alloc, out), `SessionGet${side}Name`);
  const p = requirePointer(out, "name");
  try {
    return readCString(p);
  } finally {
    check(api, api.AllocatorFree.call(alloc, p), "AllocatorFree");
  }
}

function readType(
  api: OrtApi,
  session: Deno.PointerObject,
  side: Side,
  index: number,
): { type: string; dims: (number | string)[] } {
  const out = outSlot();
  const fn = side === "input" ? api.SessionGetInputTypeInfo : api.SessionGetOutputTypeInfo;
  check(api, fn.call(session, BigInt(index), out), `SessionGet${side}TypeInfo`);
  const typeInfo = requirePointer(out, "OrtTypeInfo");
  try {
    const cast = outSlot();
    check(api, api.CastTypeInfoToTensorInfo.call(typeInfo, cast), "CastTypeInfoToTensorInfo");
    const info = pointerAt(cast); // borrowed from typeInfo; NULL for sequences and maps
    if (info === null) return { type: "non-tensor", dims: [] };
    const code = new Int32Array(1);
    check(api, api.GetTensorElementType.call(info, code), "GetTensorElementType");
    const count = new BigUint64Array(1);
    check(api, api.GetDimensionsCount.call(info, count), "GetDimensionsCount");
    const n = Number(count[0]);
    const dims = new BigInt64Array(n);
    const symbols = new BigUint64Array(n);
    if (n > 0) {
      check(api, api.GetDimensions.call(info, dims, BigInt(n)), "GetDimensions");
      check(api, api.GetSymbolicDimensions.call(info, symbols, BigInt(n)), "GetSymbolicDimensions");
    }
    return {
      type: elementTypeName(code[0]),
      dims: Array.from(dims, (d, i) => {
        if (d >= 0n) return Number(d);
        const sym = pointerAt(symbols, i); // borrowed; "" when the dim has no name
        const name = sym === null ? "" : readCString(sym);
        return name === "" ? -1 : name;
      }),
    };
  } finally {
    api.ReleaseTypeInfo.call(typeInfo);
  }
}
