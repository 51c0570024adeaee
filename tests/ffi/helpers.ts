/** Shared bits of the ffi tests: fixture paths, a subprocess runner, a C compiler helper. */

export const REPO = new URL("../../", import.meta.url).pathname.replace(/\/$/, "");
export const FIXTURES = `${REPO}/tests/fixtures/onnx`;
export const fixture = (name: string): string => `${FIXTURES}/${name}`;
export const CPU_LIB_DIR = `${REPO}/.tools/lib`;
export const GPU_LIB_DIR = `${REPO}/.tools/ort-gpu`;
export const GPU_FULL_LIB_DIR = `${REPO}/.tools/ort-gpu-full`;

export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The GPU builds are installed by setup.sh in the background; their tests skip without them. */
export const hasGpuBuild = exists(`${GPU_LIB_DIR}/libonnxruntime_providers_cuda.so`);
export const hasGpuFull = exists(`${GPU_FULL_LIB_DIR}/.installed`);

/**
 * Runs a TypeScript snippet in a fresh Deno process (a GPU core library and the CPU one share a
 * SONAME, so tests of other builds must not load them into this process). Returns its parsed
 * JSON stdout.
 */
export async function runScript(
  code: string,
  env: Record<string, string>,
): Promise<{ json: unknown; stderr: string; code: number }> {
  const dir = Deno.makeTempDirSync({ prefix: "ffi-sub-" });
  try {
    const file = `${dir}/script.ts`;
    Deno.writeTextFileSync(file, code.replaceAll("@FFI@", `${REPO}/ffi/mod.ts`));
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-all", file],
      env,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const stderr = new TextDecoder().decode(out.stderr);
    let json: unknown = null;
    try {
      json = JSON.parse(stdout.trim().split("\n").at(-1) ?? "null");
    } catch {
      throw new Error(`subprocess printed no JSON (exit ${out.code}):\n${stdout}\n${stderr}`);
    }
    return { json, stderr, code: out.code };
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

/**
 * Runs `fn` with a folder holding a stub `libcuda.so.1` (a driver that finds no GPU), for the
 * GPU builds' device checks; the folder is removed on every path.
 */
export async function withStubDriver(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = Deno.makeTempDirSync({ prefix: "ffi-stubcuda-" });
  try {
    compileSharedLibrary(dir, "libcuda.so.1", "libcuda.so.1", STUB_LIBCUDA_C);
    await fn(dir);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
}

export const hasGcc = (() => {
  try {
    return new Deno.Command("gcc", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();

/** Compiles `source` into `dir/name` as a shared library with SONAME `soname`. */
export function compileSharedLibrary(dir: string, name: string, soname: string, source: string) {
  Deno.writeTextFileSync(`${dir}/${name}.c`, source);
  const out = new Deno.Command("gcc", {
    args: ["-shared", "-fPIC", `-Wl,-soname,${soname}`, "-o", `${dir}/${name}`, `${dir}/${name}.c`],
    stderr: "piped",
  }).outputSync();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** A stand-in for the NVIDIA driver library: it loads, and reports no usable device. */
export const STUB_LIBCUDA_C = `
typedef int CUresult;
#define CUDA_ERROR_NO_DEVICE 100
CUresult cuInit(unsigned int f) { (void)f; return CUDA_ERROR_NO_DEVICE; }
CUresult cuDriverGetVersion(int *v) { *v = 13000; return 0; }
CUresult cuDeviceGetCount(int *n) { *n = 0; return 0; }
CUresult cuGetProcAddress(const char *s, void **p, int v, unsigned long long f) {
  (void)s; (void)v; (void)f; *p = 0; return CUDA_ERROR_NO_DEVICE; }
CUresult cuGetProcAddress_v2(const char *s, void **p, int v, unsigned long long f, void *st) {
  (void)s; (void)v; (void)f; (void)st; *p = 0; return CUDA_ERROR_NO_DEVICE; }
CUresult cuTensorMapEncodeTiled(void) { return CUDA_ERROR_NO_DEVICE; }
`;
