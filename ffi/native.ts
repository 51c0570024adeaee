/**
 * Small helpers for the memory that crosses the FFI boundary: C strings, out-parameters and
 * pointer arrays. Internal to ffi/: nothing here is exported from mod.ts.
 */

const encoder = new TextEncoder();

/** A NUL-terminated UTF-8 copy of `s`; keep it referenced while C may read it. */
export function cString(s: string): Uint8Array<ArrayBuffer> {
  const bytes = encoder.encode(s);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  return out;
}

/** One pointer-sized out-parameter (`T** out`). */
export function outSlot(): BigUint64Array<ArrayBuffer> {
  return new BigUint64Array(1);
}

/** The pointer an out-parameter received (null when C wrote NULL). */
export function pointerAt(slots: BigUint64Array, index = 0): Deno.PointerValue {
  return Deno.UnsafePointer.create(slots[index]);
}

/** Like pointerAt, for out-parameters C promises to fill on success. */
export function requirePointer(slots: BigUint64Array, what: string): Deno.PointerObject {
  const p = Deno.UnsafePointer.create(slots[0]);
  if (p === null) throw new Error(`ONNX Runtime returned a NULL ${what}`);
  return p;
}

/** The address of a pointer (or of a typed array's data) as a bigint for a pointer array. */
export function addressOf(p: Deno.PointerValue | BufferSource): bigint {
  if (p === null) return 0n;
  if (ArrayBuffer.isView(p) || p instanceof ArrayBuffer) {
    return BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(p)));
  }
  return BigInt(Deno.UnsafePointer.value(p as Deno.PointerObject));
}

/** A `const char* const*` array over C strings that the caller keeps referenced. */
export function cStringArray(strings: Uint8Array<ArrayBuffer>[]): BigUint64Array<ArrayBuffer> {
  const arr = new BigUint64Array(Math.max(1, strings.length));
  strings.forEach((s, i) => arr[i] = addressOf(s));
  return arr;
}

/** Reads a C string that ONNX Runtime owns. */
export function readCString(p: Deno.PointerObject): string {
  return Deno.UnsafePointerView.getCString(p);
}
