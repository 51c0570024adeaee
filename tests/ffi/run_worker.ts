/**
 * A Worker that loads ONNX Runtime itself and runs a model synchronously `n` times: the shape of
 * the inference Worker the server uses for the TDT loop. Posts timings and the address of ORT's
 * Run entry, so the caller can check both isolates use the same ORT instance.
 */
import { OrtRuntime, tensor } from "../../ffi/mod.ts";
import { openOrtLibrary } from "../../ffi/library.ts";

// Worker globals, typed without pulling the whole "deno.worker" lib into `deno check tests/`.
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<{ model: string; n: number }>) => void) | null;
  postMessage(message: unknown): void;
};

scope.onmessage = (e) => {
  const { model, n } = e.data;
  using rt = OrtRuntime.load();
  using s = rt.createSession(model, { device: "cpu", intraOpThreads: 1 });
  const x = tensor("float32", [1, 4], Float32Array.of(1, 2, 3, 4));
  for (let i = 0; i < 1000; i++) s.run({ x, y: x });
  const t0 = performance.now();
  let z = 0;
  for (let i = 0; i < n; i++) z += (s.run({ x, y: x }).z.data as Float32Array)[0];
  const usPerRun = ((performance.now() - t0) * 1000) / n;
  const runAddress = String(Deno.UnsafePointer.value(openOrtLibrary().api.Run.pointer));
  scope.postMessage({ usPerRun, z, runAddress, version: rt.version });
};
