/**
 * Keeps a loaded shared library mapped for the rest of the process.
 *
 * Deno closes a library (dlclose) when the isolate that opened it goes away, a terminated Worker
 * included. For ONNX Runtime that runs its C++ static destructors on that worker's thread; when
 * the process exits at the same moment, exit() runs the same library's exit handlers on the main
 * thread and both free the same objects. That was the SIGSEGV/SIGABRT (exit 139/134) after a
 * failed model load in the inference worker: gdb showed `__cxa_finalize` for libonnxruntime under
 * `dlclose` on the worker's thread while the main thread was in `__run_exit_handlers`. Pinned
 * (RTLD_NODELETE), the library is never unloaded: its destructors run once, at process exit, on
 * the exiting thread, whichever isolates come and go before.
 */
import { cString } from "./native.ts";

// <dlfcn.h> (glibc, which Deno's Linux builds require).
const RTLD_LAZY = 0x00001;
const RTLD_NOLOAD = 0x00004;
const RTLD_NODELETE = 0x01000;
const LIBC = "libc.so.6";

const DLFCN = {
  // void* dlopen(const char* filename, int flags)
  dlopen: { parameters: ["buffer", "i32"], result: "pointer" },
} as const;

/**
 * Marks the already loaded library at `path` (as given to Deno.dlopen) as never to be unloaded.
 * Throws if it is not loaded.
 */
export function pinLoadedLibrary(path: string): void {
  const libc = Deno.dlopen(LIBC, DLFCN);
  try {
    // RTLD_NOLOAD: only find the copy already mapped; the handle is deliberately never closed.
    const handle = libc.symbols.dlopen(cString(path), RTLD_LAZY | RTLD_NOLOAD | RTLD_NODELETE);
    if (handle === null) throw new Error(`Cannot pin ${path}: it is not loaded`);
  } finally {
    libc.close();
  }
}
