/** Which results file a benchmark run writes or merges into (src/bench/machine.ts). */
import assert from "node:assert/strict";
import { resultsFileName, sameMachine } from "../../src/bench/machine.ts";

const xeon = {
  hostname: "vm",
  cpu: "Intel(R) Xeon(R) Processor",
  cores: 2,
  ram_gb: 23.5,
  os: "Debian GNU/Linux 12 (bookworm), kernel 6.18",
  deno: "2.9.6",
  onnxruntime: "1.30.0",
  load_average: [0.5, 0.4, 0.3],
};
const epyc = { ...xeon, cpu: "AMD EPYC", load_average: [1.7, 0.8, 0.3] };

Deno.test("machine: the load average does not make another machine; the CPU does", () => {
  assert.equal(sameMachine(xeon, { ...xeon, load_average: [3, 3, 3] }), true);
  assert.equal(sameMachine(xeon, epyc), false);
  assert.equal(sameMachine(xeon, { ...xeon, onnxruntime: "1.32.0" }), false);
});

Deno.test("machine: a run merges into today's file only when it describes this machine", () => {
  const files: Record<string, Record<string, unknown>> = {};
  const describedIn = (name: string) => files[name] ?? null;
  assert.equal(resultsFileName("2026-12-06", epyc, describedIn), "2026-12-06-vm.json");
  files["2026-12-06-vm.json"] = epyc;
  assert.equal(resultsFileName("2026-12-06", epyc, describedIn), "2026-12-06-vm.json");
  files["2026-12-06-vm.json"] = xeon;
  assert.equal(resultsFileName("2026-12-06", epyc, describedIn), "2026-12-06-vm-amd-epyc.json");
  assert.equal(
    resultsFileName("2026-12-06", { ...xeon, onnxruntime: "1.32.0" }, describedIn),
    "2026-12-06-vm-intel-xeon-processor.json",
  );
});
