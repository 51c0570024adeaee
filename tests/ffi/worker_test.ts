import assert from "node:assert/strict";
import { openOrtLibrary } from "../../ffi/library.ts";
import { fixture } from "./helpers.ts";

Deno.test("Worker: loads ORT through FFI, runs synchronously, shares this process's ORT", async () => {
  const worker = new Worker(new URL("./run_worker.ts", import.meta.url), { type: "module" });
  try {
    const reply = new Promise<{ z: number; runAddress: string; version: string }>(
      (resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => {
          e.preventDefault();
          reject(new Error(e.message));
        };
      },
    );
    worker.postMessage({ model: fixture("add.onnx"), n: 100 });
    const r = await reply;
    assert.equal(r.version, "1.30.0");
    assert.equal(r.z, 200); // (1 + 1) × 100
    const here = String(Deno.UnsafePointer.value(openOrtLibrary().api.Run.pointer));
    assert.equal(r.runAddress, here, "the Worker got a different copy of ONNX Runtime");
  } finally {
    worker.terminate();
  }
});
