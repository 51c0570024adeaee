/**
 * The fused decode step holds the joint once: a model loaded with it takes no more memory than
 * one with the three-run chain, on a joint with Parakeet-TDT-0.6B-v3's dimensions (75 MB). The
 * fused session replaces the model's own joint session, and the joint's bytes (read, then
 * spliced) are released as soon as the session is made, not left to the GC (which left 70 MB
 * more resident after the load when they were).
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const MAKE = fileURLToPath(new URL("./make_v3_signature.py", import.meta.url));
const WORKER = fileURLToPath(new URL("./fused_memory_worker.ts", import.meta.url));

Deno.test({
  name: "a model with the fused decode step holds no more memory than with the chain",
  ignore: !haveNemoPython("the fused decode step's memory test (it builds a v3-sized joint)"),
  fn: async () => {
    const dir = await Deno.makeTempDir({ prefix: "fused-memory-" });
    try {
      const made = await new Deno.Command(NEMO_PYTHON, { args: [MAKE, dir], stderr: "piped" })
        .output();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
      const joint = (await Deno.stat(`${dir}/decoder_joint-model.onnx`)).size / 2 ** 20;
      const grew = async (form: string) => {
        const out = await new Deno.Command(Deno.execPath(), {
          args: ["run", "-A", WORKER, dir, form],
          stderr: "inherit",
        }).output();
        assert.ok(out.success, `${form} load`);
        return JSON.parse(new TextDecoder().decode(out.stdout)).grew_mb as number;
      };
      const chain = await grew("resident-chain");
      const fused = await grew("resident");
      assert.ok(joint > 50, `a joint of ${joint.toFixed(0)} MB`);
      // A second copy of the joint, or its bytes left to the GC, would be 70 MB or more.
      assert.ok(
        fused - chain < 20,
        `fused ${fused.toFixed(1)} MB against the chain's ${chain.toFixed(1)} MB`,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
