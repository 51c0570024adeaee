/**
 * models/export_nemo.py, the .nemo → model directory path: exporting the committed tiny model's
 * NeMo checkpoint reproduces the committed ONNX files byte for byte; an existing output is never
 * overwritten without --force, and a bad checkpoint leaves nothing behind.
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const PY = NEMO_PYTHON;
const HAVE = haveNemoPython("export_nemo tests");
const NEMO = `${ROOT}/models/test/tiny-tdt-nemo/model.nemo`;

Deno.test({
  name: "export_nemo.py: the tiny .nemo exports to the committed tiny-tdt files, byte for byte",
  ignore: !HAVE,
  fn: async () => {
    const tmp = await Deno.makeTempDir();
    const out = `${tmp}/tiny`;
    try {
      const r = await run(PY, [`${ROOT}/models/export_nemo.py`, NEMO, "--out", out]);
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n").at(-1), out, "the directory is the last line");
      for (
        const f of [
          "encoder-model.onnx",
          "decoder_joint-model.onnx",
          "encoder-model.int8.onnx",
          "decoder_joint-model.int8.onnx",
          "vocab.txt",
        ]
      ) {
        const a = Deno.readFileSync(`${out}/${f}`);
        const b = Deno.readFileSync(`${ROOT}/models/test/tiny-tdt/${f}`);
        assert(a.length === b.length && a.every((x, i) => x === b[i]), `${f} differs`);
      }
      const config = JSON.parse(Deno.readTextFileSync(`${out}/config.json`));
      assertEquals(
        [config.model_type, config.features_size, config.subsampling_factor, config.durations],
        ["nemo-conformer-tdt", 128, 8, [0, 1, 2, 3, 4]],
      );
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), ["tiny"], "no .partial left");

      const again = await run(PY, [`${ROOT}/models/export_nemo.py`, NEMO, "--out", out]);
      assertEquals(again.code, 2);
      assertStringIncludes(again.stderr, "already exists; choose another --out or pass --force");

      const junk = `${tmp}/junk.nemo`;
      Deno.writeTextFileSync(junk, "not a tar archive");
      const bad = await run(PY, [`${ROOT}/models/export_nemo.py`, junk, "--out", `${tmp}/bad`]);
      assert(bad.code !== 0);
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name).sort(), ["junk.nemo", "tiny"]);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
