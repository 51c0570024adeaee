import assert from "node:assert/strict";
import { join } from "node:path";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { transcribeClips } from "../../src/stream/offline_transcriber.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { clipSamples, fixtureClips, reference, TINY_MODEL } from "../engine/fixtures.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

/** Drops graph outputs by name from an ONNX file (the nodes stay; ONNX Runtime allows that). */
const DROP_OUTPUTS = `
import sys, onnx
src, dst, *names = sys.argv[1:]
m = onnx.load(src)
kept = [o for o in m.graph.output if o.name not in names]
assert len(kept) == len(m.graph.output) - len(names), "an output to drop is not in the graph"
del m.graph.output[:]
m.graph.output.extend(kept)
onnx.save(m, dst)
`;

Deno.test({
  name: "a decoder_joint exported without prednet_lengths loads and decodes as the full one",
  ignore: !haveNemoPython("the joint-outputs test"),
  fn: async () => {
    const dir = Deno.makeTempDirSync({ prefix: "joint-outputs-" });
    try {
      for (const e of Deno.readDirSync(TINY_MODEL)) {
        if (e.isFile) Deno.copyFileSync(join(TINY_MODEL, e.name), join(dir, e.name));
      }
      const joint = join(dir, "decoder_joint-model.onnx");
      const out = await new Deno.Command(NEMO_PYTHON, {
        args: ["-c", DROP_OUTPUTS, joint, joint, "prednet_lengths"],
        stdout: "piped",
        stderr: "piped",
      }).output();
      assert.ok(out.success, new TextDecoder().decode(out.stderr));

      using runtime = OrtRuntime.load();
      using model = ParakeetModel.load(runtime, dir, { device: "cpu" });
      const extractor = new LogMelExtractor();
      for (const clip of fixtureClips()) {
        const [t] = transcribeClips(model, extractor, [await clipSamples(clip)]).transcripts;
        assert.deepEqual(t.tokenIds, reference(clip).tokens, `${clip}: tokens`);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
