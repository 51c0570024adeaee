/**
 * A model with Parakeet-TDT-0.6B-v3's exact I/O signature, vocabulary layout and config.json
 * (generated, not committed: tests/model/make_v3_signature.py) goes through every loading path:
 * `transcribe`, the server, and `fetch-model`.
 */
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { fetchModel } from "../../src/fetch/model_fetch.ts";
import type { ModelManifest } from "../../src/fetch/manifest.ts";
import { clipPcmBytes, CLIPS_DIR, ROOT } from "../engine/fixtures.ts";
import { haveNemoPython, NEMO_PYTHON } from "../nemo_python.ts";
import { startFixtureHub } from "../ops/fixture_hub.ts";
import { startTestServer, streamAudio } from "../server/harness.ts";

const MAKE = fileURLToPath(new URL("./make_v3_signature.py", import.meta.url));
const CLIP = "digits_pi.wav";
const FILES = [
  "config.json",
  "vocab.txt",
  "encoder-model.onnx",
  "encoder-model.onnx.data",
  "decoder_joint-model.onnx",
];

async function makeModel(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "v3-signature-" });
  const out = await new Deno.Command(NEMO_PYTHON, { args: [MAKE, dir], stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return dir;
}

/** No marker piece (`<unk>`, `<|nospeech|>`, `<0xC3>`…) may reach a transcript. */
function assertNoMarkers(text: string, what: string): void {
  assert.doesNotMatch(text, /<[^>]*>/, `${what}: ${text}`);
}

const ignore = !haveNemoPython("the v3-signature model tests");

Deno.test({
  name: "v3 signature: the generated model has v3's vocabulary layout and config keys",
  ignore,
  fn: async () => {
    const dir = await makeModel();
    try {
      const lines = Deno.readTextFileSync(`${dir}/vocab.txt`).trimEnd().split("\n");
      assert.equal(lines.length, 8193);
      assert.equal(lines[8192], "<blk> 8192");
      assert.ok(lines.includes("<|nospeech|> 1") && lines.includes("<pad> 2"));
      const config = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
      assert.deepEqual(Object.keys(config).sort(), [
        "features_size",
        "model_type",
        "subsampling_factor",
      ]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "v3 signature: transcribe loads and decodes it, and shows no marker pieces",
  ignore,
  fn: async () => {
    const dir = await makeModel();
    try {
      const out = await new Deno.Command(Deno.execPath(), {
        args: [
          "run",
          "-A",
          `${ROOT}main.ts`,
          "transcribe",
          "--model",
          dir,
          "--device",
          "cpu",
          "--json",
          `${CLIPS_DIR}/${CLIP}`,
        ],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      const result = JSON.parse(new TextDecoder().decode(out.stdout));
      // The random joint emits markers among its tokens; the text never shows them.
      assert.ok(result.token_ids.length > 0, "the joint emitted tokens");
      assert.ok(result.token_ids.some((id: number) => id < 16), "markers were emitted");
      assertNoMarkers(result.text, "text");
      for (const w of result.words) assertNoMarkers(w.word, "word");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "v3 signature: the server streams with it to a final without marker pieces",
  ignore,
  fn: async () => {
    const dir = await makeModel();
    try {
      await using server = await startTestServer({ MODEL: dir, WARMUP_BATCH: "2" });
      const outcome = await streamAudio(server.url, clipPcmBytes(CLIP));
      assert.deepEqual(outcome.errors, []);
      assert.equal(outcome.finals.length, 1);
      assertNoMarkers(outcome.finals[0], "final");
      for (const p of outcome.partials) assertNoMarkers(p, "partial");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "v3 signature: fetch-model takes its files from a hub and the result loads",
  ignore,
  fn: async () => {
    const src = await makeModel();
    const cache = await Deno.makeTempDir();
    const files: Record<string, Uint8Array> = {};
    for (const f of FILES) files[f] = Deno.readFileSync(`${src}/${f}`);
    await using hub = startFixtureHub(files);
    const manifest: ModelManifest = {
      name: "v3-signature",
      baseUrl: "unused",
      files: FILES.map((name) => ({ name, precision: name.includes(".onnx") ? "fp32" : "both" })),
    };
    try {
      const fetched = await fetchModel(manifest, {
        cacheDir: cache,
        baseUrl: hub.baseUrl,
        precision: "fp32",
        log: () => {},
        download: { progress: () => ({ update() {}, finish() {} }) },
      });
      assert.deepEqual(fetched.files.map((f) => f.name).sort(), [...FILES].sort());
      for (const f of FILES) {
        assert.deepEqual(Deno.readFileSync(`${fetched.dir}/${f}`), files[f], f);
      }
      await using server = await startTestServer({ MODEL: fetched.dir, WARMUP_BATCH: "1" });
      const outcome = await streamAudio(server.url, clipPcmBytes(CLIP));
      assert.equal(outcome.finals.length, 1);
    } finally {
      await Deno.remove(src, { recursive: true });
      await Deno.remove(cache, { recursive: true });
    }
  },
});
