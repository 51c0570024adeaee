/**
 * models/export_nemo.py, the .nemo → model directory path: exporting the committed tiny model's
 * NeMo checkpoint reproduces the committed ONNX files (the same graphs and weights, to float32
 * rounding, which differs from one CPU to another: models/onnx_same_model.py) and vocab.txt
 * byte for byte; an existing output is never overwritten without --force, and a bad checkpoint
 * leaves nothing behind.
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";

const PY = NEMO_PYTHON;
const HAVE = haveNemoPython("export_nemo tests");
const NEMO = `${ROOT}/models/test/tiny-tdt-nemo/model.nemo`;

Deno.test({
  name: "export_nemo.py: the tiny .nemo exports to the committed tiny-tdt model, to float rounding",
  ignore: !HAVE,
  fn: async () => {
    const tmp = await Deno.makeTempDir();
    const out = `${tmp}/tiny`;
    try {
      const r = await run(PY, ["-m", "models.export_nemo", NEMO, "--out", out], { cwd: ROOT });
      assertEquals(r.code, 0, r.stderr);
      assertEquals(r.stdout.trim().split("\n").at(-1), out, "the directory is the last line");
      const same = (a: string, b: string) =>
        run(PY, ["-m", "models.onnx_same_model", a, b], { cwd: ROOT });
      for (
        const f of [
          "encoder-model.onnx",
          "decoder_joint-model.onnx",
          "encoder-model.int8.onnx",
          "decoder_joint-model.int8.onnx",
        ]
      ) {
        const r = await same(`${out}/${f}`, `${ROOT}/models/test/tiny-tdt/${f}`);
        assertEquals([r.code, r.stdout.trim()], [0, "same model"], `${f}: ${r.stdout}${r.stderr}`);
      }
      const a = Deno.readFileSync(`${out}/vocab.txt`);
      const b = Deno.readFileSync(`${ROOT}/models/test/tiny-tdt/vocab.txt`);
      assert(a.length === b.length && a.every((x, i) => x === b[i]), "vocab.txt differs");
      // the comparison can fail: the int8 encoder is not the fp32 one, the demo is another model
      const other = await same(`${out}/encoder-model.onnx`, `${out}/encoder-model.int8.onnx`);
      assertEquals([other.code, other.stdout.trim()], [1, "the nodes differ"]);
      const demo = await same(
        `${out}/decoder_joint-model.onnx`,
        `${ROOT}/models/demo/decoder_joint-model.onnx`,
      );
      assertEquals(demo.code, 1, demo.stdout);
      const config = JSON.parse(Deno.readTextFileSync(`${out}/config.json`));
      assertEquals(
        [
          config.model_type,
          config.features_size,
          config.subsampling_factor,
          config.durations,
          config.pos_emb_max_len,
        ],
        ["nemo-conformer-tdt", 128, 8, [0, 1, 2, 3, 4], 1250],
      );
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name), ["tiny"], "no .partial left");

      const again = await run(PY, ["-m", "models.export_nemo", NEMO, "--out", out], { cwd: ROOT });
      assertEquals(again.code, 2);
      assertStringIncludes(again.stderr, "already exists; choose another --out or pass --force");

      const junk = `${tmp}/junk.nemo`;
      Deno.writeTextFileSync(junk, "not a tar archive");
      const bad = await run(PY, ["-m", "models.export_nemo", junk, "--out", `${tmp}/bad`], {
        cwd: ROOT,
      });
      assert(bad.code !== 0);
      assertEquals([...Deno.readDirSync(tmp)].map((e) => e.name).sort(), ["junk.nemo", "tiny"]);
    } finally {
      await Deno.remove(tmp, { recursive: true });
    }
  },
});
