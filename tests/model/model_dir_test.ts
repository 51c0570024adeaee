import assert from "node:assert/strict";
import { join } from "node:path";
import { parseModelConfig } from "../../src/model/model_config.ts";
import { locateModelFiles, ModelLoadError } from "../../src/model/model_files.ts";
import { type IoInfo, type SessionIo, validateSignatures } from "../../src/model/signature.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";

function tempModelDir(files: string[]): string {
  const dir = Deno.makeTempDirSync({ prefix: "model-" });
  for (const f of files) Deno.writeTextFileSync(join(dir, f), "");
  return dir;
}

const ALL = ["encoder-model.onnx", "decoder_joint-model.onnx", "vocab.txt", "config.json"];

Deno.test("locateModelFiles finds the fp32 and int8 files of a model directory", () => {
  const dir = tempModelDir([
    ...ALL,
    "encoder-model.int8.onnx",
    "decoder_joint-model.int8.onnx",
  ]);
  try {
    assert.match(locateModelFiles(dir, "fp32").encoder, /encoder-model\.onnx$/);
    const int8 = locateModelFiles(dir, "int8");
    assert.match(int8.encoder, /encoder-model\.int8\.onnx$/);
    assert.match(int8.decoderJoint, /decoder_joint-model\.int8\.onnx$/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("locateModelFiles names a missing directory, a file, and missing files", () => {
  assert.throws(() => locateModelFiles("/nonexistent/model", "fp32"), {
    name: "ModelLoadError",
    message: "model directory /nonexistent/model does not exist",
  });
  const file = Deno.makeTempFileSync();
  assert.throws(() => locateModelFiles(file, "fp32"), /is not a directory/);
  Deno.removeSync(file);
  const dir = tempModelDir(["encoder-model.onnx", "config.json"]);
  try {
    assert.throws(
      () => locateModelFiles(dir, "fp32"),
      /lacks decoder_joint-model\.onnx, vocab\.txt; it contains: config\.json, encoder-model\.onnx/,
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("locateModelFiles says when a model has no int8 export", () => {
  const dir = tempModelDir(ALL);
  try {
    assert.throws(() => locateModelFiles(dir, "int8"), /has no int8 export; leave out --int8/);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("parseModelConfig reads the onnx-asr keys and defaults the rest to Parakeet's", () => {
  const c = parseModelConfig(
    '{"model_type":"nemo-conformer-tdt","features_size":128,"subsampling_factor":8,"max_tokens_per_step":10}',
  );
  assert.equal(c.featuresSize, 128);
  assert.equal(c.subsamplingFactor, 8);
  assert.equal(c.maxTokensPerStep, 10);
  assert.equal(c.sampleRate, 16000);
  assert.equal(c.durations, undefined);
  assert.equal(parseModelConfig('{"model_type":"nemo-conformer-tdt"}').featuresSize, 128);
});

Deno.test("the positional table's length comes from config.json, v3's 5000 frames when absent", () => {
  const tiny = parseModelConfig(Deno.readTextFileSync(`${TINY_MODEL}/config.json`));
  assert.equal(tiny.maxEncoderFrames, 1250);
  assert.equal(parseModelConfig('{"model_type":"nemo-conformer-tdt"}').maxEncoderFrames, 5000);
  assert.equal(
    parseModelConfig('{"model_type":"nemo-conformer-tdt","pos_emb_max_len":3000}').maxEncoderFrames,
    3000,
  );
  assert.throws(
    () =>
      parseModelConfig('{"model_type":"nemo-conformer-tdt","architecture":{"pos_emb_max_len":0}}'),
    /pos_emb_max_len must be an integer from 1 to 1000000, got 0/,
  );
});

Deno.test("parseModelConfig rejects each bad config with its reason", () => {
  const bad: [string, RegExp][] = [
    ["{", /config.json: not valid JSON/],
    ["[]", /expected a JSON object/],
    [
      '{"model_type":"nemo-conformer-ctc"}',
      /model_type is "nemo-conformer-ctc"; this server runs "nemo-conformer-tdt"/,
    ],
    [
      '{"model_type":"nemo-conformer-tdt","features_size":0}',
      /features_size must be an integer from 1 to 1024, got 0/,
    ],
    [
      '{"model_type":"nemo-conformer-tdt","subsampling_factor":"8"}',
      /subsampling_factor must be an integer/,
    ],
    ['{"model_type":"nemo-conformer-tdt","durations":[]}', /durations must be a non-empty list/],
    ['{"model_type":"nemo-conformer-tdt","window_stride":0}', /window_stride must be seconds/],
  ];
  for (const [text, message] of bad) {
    assert.throws(
      () => parseModelConfig(text),
      (e) => e instanceof ModelLoadError && message.test(e.message),
      text,
    );
  }
});

const io = (name: string, type: string, dims: (number | string)[]): IoInfo => ({
  name,
  type,
  dims,
});

function goodSessions(): { encoder: SessionIo; joint: SessionIo } {
  return {
    encoder: {
      file: "enc.onnx",
      inputs: [io("audio_signal", "float32", ["B", 128, "T"]), io("length", "int64", ["B"])],
      outputs: [io("outputs", "float32", ["B", 176, "T8"]), io("encoded_lengths", "int64", ["B"])],
    },
    joint: {
      file: "joint.onnx",
      inputs: [
        io("encoder_outputs", "float32", ["B", 176, "T"]),
        io("targets", "int32", ["B", "U"]),
        io("target_length", "int32", ["B"]),
        io("input_states_1", "float32", [2, "B", 320]),
        io("input_states_2", "float32", [2, "B", 320]),
      ],
      outputs: [
        io("outputs", "float32", ["B", "T", "U", 70]),
        io("prednet_lengths", "int32", ["B"]),
        io("output_states_1", "float32", [2, "B", 320]),
        io("output_states_2", "float32", [2, "B", 320]),
      ],
    },
  };
}
const OPTS = { vocabSize: 65, blankId: 64, featuresSize: 128, maxSymbolsPerFrame: 10 };

Deno.test("validateSignatures derives the decoder's sizes from the export", () => {
  const { encoder, joint } = goodSessions();
  const shapes = validateSignatures(encoder, joint, OPTS);
  assert.deepEqual(shapes.tdt, {
    numClasses: 65,
    blankId: 64,
    durations: [0, 1, 2, 3, 4],
    maxSymbolsPerFrame: 10,
    encoderDim: 176,
    stateLayers: 2,
    stateHidden: 320,
  });
});

Deno.test("validateSignatures names the file, tensor and expectation of each mismatch", () => {
  const cases: [(s: ReturnType<typeof goodSessions>) => void, RegExp][] = [
    [
      (s) => (s.encoder.inputs = [io("x", "float32", [1, 2, 3])]),
      /enc\.onnx: no input named "audio_signal" \(it has "x"\)/,
    ],
    [
      (s) => ((s.joint.inputs[1] as IoInfo).type = "int64"),
      /joint\.onnx: input "targets" is int64, expected int32/,
    ],
    [
      (s) => ((s.encoder.inputs[0] as IoInfo).dims = ["B", 80, "T"]),
      /takes 80 features per frame but config.json says features_size 128/,
    ],
    [
      (s) => ((s.joint.inputs[0] as IoInfo).dims = ["B", 512, "T"]),
      /encoder_outputs has dimension 512 but enc\.onnx produces 176/,
    ],
    [
      (s) => ((s.joint.outputs[0] as IoInfo).dims = ["B", "T", "U", 60]),
      /do not fit the vocabulary's 65 tokens/,
    ],
    [
      (s) => ((s.joint.inputs[3] as IoInfo).dims = ["L", "B", 320]),
      /input_states_1 must have fixed layer and hidden sizes/,
    ],
    [(s) => ((s.joint.outputs[0] as IoInfo).dims = ["B", "T", 70]), /output "outputs" has rank 3/],
  ];
  for (const [mutate, message] of cases) {
    const s = goodSessions();
    mutate(s);
    assert.throws(() => validateSignatures(s.encoder, s.joint, OPTS), message);
  }
  const s = goodSessions();
  assert.throws(
    () => validateSignatures(s.encoder, s.joint, { ...OPTS, durations: [0, 1, 2] }),
    /70 logits, 5 after the vocabulary's 65 tokens, but config.json lists 3 durations/,
  );
});

Deno.test("parseModelConfig reads what a model recognises, when its config.json says so", () => {
  const parse = (extra: Record<string, unknown>) =>
    parseModelConfig(JSON.stringify({ model_type: "nemo-conformer-tdt", ...extra }));
  assert.equal(
    parse({ recognises: "  digits zero..nine and oh " }).recognises,
    "digits zero..nine and oh",
  );
  assert.equal(parse({}).recognises, undefined);
  assert.equal(parse({ recognises: "" }).recognises, undefined);
  assert.equal(parse({ recognises: 7 }).recognises, undefined);
});
