/**
 * Loads a model directory with one decode-step form in a process of its own and prints how much
 * the resident set grew (MB) once the model is loaded. No GC is forced: what the loader leaves
 * for the GC to free still counts, as it does in a server that just started.
 *   deno run -A fused_memory_worker.ts MODEL_DIR resident|resident-chain|host
 */
import { OrtRuntime } from "../../ffi/mod.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";

const [dir, form] = Deno.args;
const rss = () =>
  Number(Deno.readTextFileSync("/proc/self/status").match(/VmRSS:\s+(\d+)/)![1]) / 1024;
using runtime = OrtRuntime.load();
const before = rss();
using _model = ParakeetModel.load(runtime, dir, {
  device: "cpu",
  decodeStep: form as "resident" | "resident-chain" | "host",
  session: { intraOpThreads: 1 },
});
console.log(JSON.stringify({ form, grew_mb: rss() - before }));
