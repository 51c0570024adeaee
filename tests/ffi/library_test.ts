import assert from "node:assert/strict";
import { libraryCandidates, OrtLibraryError, OrtRuntime } from "../../ffi/mod.ts";
import { API_VERSION } from "../../ffi/api_table.ts";
import { openOrtLibrary } from "../../ffi/library.ts";
import { compileSharedLibrary, CPU_LIB_DIR, hasGcc, REPO, runScript } from "./helpers.ts";

Deno.test("libraryCandidates: repository .tools/lib, executable dir and lib/, then the system", () => {
  const c = libraryCandidates({ execPath: "/opt/app/parakeet-server" });
  assert.deepEqual(c.map((x) => x.path), [
    `${REPO}/.tools/lib/libonnxruntime.so.1`,
    "/opt/app/libonnxruntime.so.1",
    "/opt/app/lib/libonnxruntime.so.1",
    "libonnxruntime.so.1",
  ]);
  assert.deepEqual(c.map((x) => x.origin), ["repository", "executable", "executable", "system"]);
});

Deno.test("libraryCandidates: ORT_LIB as a directory or a file is the only candidate", () => {
  assert.deepEqual(libraryCandidates({ envLib: CPU_LIB_DIR }), [
    { path: `${CPU_LIB_DIR}/libonnxruntime.so.1`, origin: "ORT_LIB" },
  ]);
  assert.deepEqual(libraryCandidates({ envLib: "/x/libonnxruntime.so.1.30.0" }), [
    { path: "/x/libonnxruntime.so.1.30.0", origin: "ORT_LIB" },
  ]);
  assert.equal(libraryCandidates({ libPath: "/a/lib.so", envLib: "/b" })[0].origin, "libPath");
});

Deno.test("OrtRuntime.load: finds the 1.30 library and reports its version and path", () => {
  using rt = OrtRuntime.load();
  assert.equal(rt.version, "1.30.0");
  assert.match(rt.libraryPath, /libonnxruntime\.so\.1$/);
  assert.ok(rt.availableProviders().includes("CPUExecutionProvider"));
});

Deno.test("OrtRuntime.load: libPath may be the directory holding the library", () => {
  using rt = OrtRuntime.load({ libPath: CPU_LIB_DIR });
  assert.equal(rt.libraryPath, `${CPU_LIB_DIR}/libonnxruntime.so.1`);
});

Deno.test("OrtRuntime.load: a missing explicit library names the path, ORT_LIB and setup.sh", () => {
  assert.throws(
    () => OrtRuntime.load({ libPath: "/nonexistent/libonnxruntime.so.1" }),
    (e: unknown) => {
      assert.ok(e instanceof OrtLibraryError);
      assert.match(e.message, /Cannot find the ONNX Runtime library/);
      assert.match(e.message, /\/nonexistent\/libonnxruntime\.so\.1 \(libPath: no such file\)/);
      assert.match(e.message, /ORT_LIB/);
      assert.match(e.message, /bash scripts\/setup\.sh/);
      return true;
    },
  );
});

Deno.test("OrtRuntime.load: not found anywhere lists every path tried", async () => {
  // A copy of ffi/ outside the repository, run by a deno binary whose directory has no library.
  const dir = Deno.makeTempDirSync({ prefix: "ffi-nolib-" });
  try {
    Deno.mkdirSync(`${dir}/ffi`);
    for (const f of Deno.readDirSync(`${REPO}/ffi`)) {
      if (f.name.endsWith(".ts")) {
        Deno.copyFileSync(`${REPO}/ffi/${f.name}`, `${dir}/ffi/${f.name}`);
      }
    }
    const { json } = await runScript(
      `import { OrtRuntime } from "${dir}/ffi/mod.ts";
       try { OrtRuntime.load(); console.log(JSON.stringify("loaded")); }
       catch (e) { console.log(JSON.stringify({ message: e.message, tried: e.tried })); }`,
      { ORT_LIB: "", LD_LIBRARY_PATH: "" },
    );
    const r = json as { message: string; tried: string[] };
    const exeDir = Deno.execPath().replace(/\/[^/]+$/, "");
    assert.match(r.message, new RegExp(`${dir}/\\.tools/lib/libonnxruntime\\.so\\.1`));
    assert.ok(r.message.includes(`${exeDir}/libonnxruntime.so.1 (executable: no such file)`));
    assert.ok(r.message.includes(`${exeDir}/lib/libonnxruntime.so.1 (executable: no such file)`));
    assert.match(r.message, /libonnxruntime\.so\.1 \(system: .*cannot open shared object file/);
    assert.match(r.message, /Set ORT_LIB .* or run `bash scripts\/setup\.sh`/);
    assert.equal(r.tried.length, 4);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("OrtRuntime.load: ORT_LIB pointing at a directory without the library fails", async () => {
  const { json } = await runScript(
    `import { OrtRuntime } from "@FFI@";
     try { OrtRuntime.load(); console.log(JSON.stringify("loaded")); }
     catch (e) { console.log(JSON.stringify(e.message)); }`,
    { ORT_LIB: "/tmp" },
  );
  assert.match(json as string, /\/tmp\/libonnxruntime\.so\.1 \(ORT_LIB: no such file\)/);
});

Deno.test("OrtRuntime.load: a file that is not a library is reported, not skipped", () => {
  const file = Deno.makeTempFileSync({ suffix: ".so" });
  try {
    assert.throws(() => OrtRuntime.load({ libPath: file }), (e: unknown) => {
      assert.ok(e instanceof OrtLibraryError);
      assert.ok(e.message.startsWith(`Cannot load ONNX Runtime from ${file}:`), e.message);
      return true;
    });
  } finally {
    Deno.removeSync(file);
  }
});

Deno.test({
  name: "OrtRuntime.load: a library too old for the API version names both versions",
  ignore: !hasGcc,
  fn() {
    const dir = Deno.makeTempDirSync({ prefix: "ffi-oldort-" });
    try {
      // An OrtGetApiBase whose GetApi refuses every version, like a pre-1.11 library would.
      compileSharedLibrary(
        dir,
        "libonnxruntime.so.1",
        "libonnxruntime.so.1",
        `#include <stddef.h>
         static const void* get_api(unsigned v) { (void)v; return NULL; }
         static const char* version(void) { return "1.9.0"; }
         static struct { const void* (*a)(unsigned); const char* (*b)(void); } base =
           { get_api, version };
         const void* OrtGetApiBase(void) { return &base; }`,
      );
      assert.throws(() => openOrtLibrary({ libPath: dir }), (e: unknown) => {
        assert.ok(e instanceof OrtLibraryError);
        assert.match(e.message, /ONNX Runtime 1\.9\.0 at .* is too old/);
        assert.match(e.message, new RegExp(`1\\.11 or newer \\(C API version ${API_VERSION}\\)`));
        return true;
      });
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
