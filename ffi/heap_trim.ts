/**
 * Hands the C heap's free memory back to the system (glibc's malloc_trim).
 *
 * glibc keeps freed blocks in its heap for later allocations. When the model loader closes a
 * session whose nodes another session now holds (the joint, once the fused decode step has it:
 * a 75 MB graph for Parakeet-TDT-0.6B-v3), the freed weights stayed resident, 40 MB a lane.
 * Trimming once after such a close returns them.
 */
const SYMBOLS = {
  // int malloc_trim(size_t pad)
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const;

/**
 * Trims every glibc arena down to what is in use. False where libc's malloc_trim is not there
 * (not Linux, or not glibc): nothing to do then.
 */
export function trimHeap(): boolean {
  if (Deno.build.os !== "linux") return false;
  let lib: Deno.DynamicLibrary<typeof SYMBOLS>;
  try {
    lib = Deno.dlopen("libc.so.6", SYMBOLS);
  } catch {
    return false;
  }
  try {
    lib.symbols.malloc_trim(0n);
    return true;
  } finally {
    lib.close();
  }
}
