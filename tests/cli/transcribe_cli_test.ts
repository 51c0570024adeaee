import assert from "node:assert/strict";
import { wordErrors } from "../../bench/wer.ts";
import { CLIPS_DIR, longClipWav, reference, ROOT, TINY_MODEL } from "../engine/fixtures.ts";

const GPU_BUILD = `${ROOT}.tools/ort-gpu`;

async function cli(args: string[], env: Record<string, string> = {}) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}main.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

function hasGpuBuild(): boolean {
  try {
    return Deno.statSync(`${GPU_BUILD}/libonnxruntime_providers_cuda.so`).isFile;
  } catch {
    return false;
  }
}

Deno.test("transcribe --json prints text, tokens and timestamps equal to NeMo's", async () => {
  const clip = "digits_pi.wav";
  const r = await cli([
    "transcribe",
    "--model",
    TINY_MODEL,
    "--json",
    "--device",
    "cpu",
    `${CLIPS_DIR}/${clip}`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  const ref = reference(clip);
  assert.equal(out.text, ref.text);
  assert.deepEqual(out.token_ids, ref.tokens);
  assert.deepEqual(out.frames, ref.timestamps);
  assert.deepEqual(out.timestamps, ref.timestamps.map((f) => Math.round(f * 0.08 * 1e6) / 1e6));
  assert.equal(out.tokens.length, ref.tokens.length);
  assert.equal(out.duration_sec, Math.round((ref.num_samples / 16000) * 1000) / 1000);
});

Deno.test("transcribe prints one line per file and goes on past a file it cannot read", async () => {
  const missing = `${ROOT}tests/fixtures/no-such-file.wav`;
  const empty = await Deno.makeTempFile({ suffix: ".wav" });
  try {
    const r = await cli([
      "transcribe",
      "--model",
      TINY_MODEL,
      "--device",
      "cpu",
      missing,
      empty,
      `${CLIPS_DIR}/seven_eight.wav`,
    ]);
    assert.equal(r.code, 1, "a failed file makes the exit code 1");
    assert.equal(r.stdout.trim(), reference("seven_eight.wav").text);
    assert.match(r.stderr, /no-such-file\.wav/);
    assert.match(r.stderr, /the file is empty \(0 bytes\)/);
  } finally {
    await Deno.remove(empty);
  }
});

/** A 101 s recording: longer than the tiny model's positional table (1250 encoder frames, 100 s). */
async function longFile(): Promise<{ path: string; text: string }> {
  const { wav, texts } = longClipWav(101);
  const path = await Deno.makeTempFile({ suffix: ".wav" });
  await Deno.writeFile(path, wav);
  return { path, text: texts.join(" ") };
}

Deno.test("transcribe decodes a file longer than the model's positional table in windows that fit it", async () => {
  const long = await longFile();
  try {
    const r = await cli([
      "transcribe",
      "--model",
      TINY_MODEL,
      "--device",
      "cpu",
      "--json",
      long.path,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const out = JSON.parse(r.stdout.trim());
    assert.ok(out.duration_sec > 100, `${out.duration_sec} s`);
    // The tiny model hears the clips back to back less well than one by one, but the whole
    // file is heard: the words run to its end, in order, and most are right.
    const { errors, words } = wordErrors(long.text, out.text);
    assert.ok(errors / words < 0.4, `WER ${errors}/${words}: ${out.text}`);
    assert.ok(out.words.at(-1).end > 95, `last word ends at ${out.words.at(-1).end} s`);
    for (let i = 1; i < out.words.length; i++) {
      assert.ok(out.words[i].start >= out.words[i - 1].end, `word ${i} in order`);
    }
  } finally {
    await Deno.remove(long.path);
  }
});

Deno.test("a file the model fails on fails alone: its error, the other files' text, exit 1", async () => {
  // A model directory whose config.json does not give its table: the server's default (v3's
  // 5000 frames) overstates the tiny model's 1250, so the 101 s file goes to the encoder as one
  // window and ONNX Runtime fails on it, in the same batch as a clip that fits.
  const dir = await Deno.makeTempDir();
  const long = await longFile();
  try {
    for (const f of ["encoder-model.onnx", "decoder_joint-model.onnx", "vocab.txt"]) {
      await Deno.symlink(`${TINY_MODEL}/${f}`, `${dir}/${f}`);
    }
    const config = JSON.parse(await Deno.readTextFile(`${TINY_MODEL}/config.json`));
    delete config.architecture.pos_emb_max_len;
    await Deno.writeTextFile(`${dir}/config.json`, JSON.stringify(config));
    const clip = `${CLIPS_DIR}/seven_eight.wav`;
    const r = await cli([
      "transcribe",
      "--model",
      dir,
      "--device",
      "cpu",
      "--json",
      long.path,
      clip,
    ]);
    assert.equal(r.code, 1, "a failed file makes the exit code 1");
    const [failed, done] = r.stdout.trim().split("\n").map((l) => JSON.parse(l));
    assert.equal(failed.file, long.path);
    assert.match(failed.error, /Add_2|broadcast/);
    assert.equal(done.file, clip);
    assert.equal(done.text, reference("seven_eight.wav").text);
    assert.match(r.stderr, new RegExp(`error: ${long.path}: `));
  } finally {
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(long.path);
  }
});

Deno.test("transcribe names what is wrong with a bad model directory and exits 1", async () => {
  const r = await cli([
    "transcribe",
    "--model",
    "/nonexistent/model",
    `${CLIPS_DIR}/seven_eight.wav`,
  ]);
  assert.equal(r.code, 1);
  assert.match(
    r.stderr,
    /parakeet-server transcribe: model directory \/nonexistent\/model does not exist/,
  );
  assert.doesNotMatch(r.stderr, /at .*\.ts:\d+/, "no stack trace for an expected failure");

  const dir = await Deno.makeTempDir();
  try {
    for (const f of ["encoder-model.onnx", "decoder_joint-model.onnx", "config.json"]) {
      await Deno.copyFile(`${TINY_MODEL}/${f}`, `${dir}/${f}`);
    }
    await Deno.writeTextFile(`${dir}/vocab.txt`, "▁a 0\n▁b 1\n<blk> 2\n");
    const bad = await cli(["transcribe", "--model", dir, `${CLIPS_DIR}/seven_eight.wav`]);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /vocab\.txt or config\.json belongs to another model/);

    await Deno.writeTextFile(`${dir}/encoder-model.onnx`, "not a model");
    await Deno.copyFile(`${TINY_MODEL}/vocab.txt`, `${dir}/vocab.txt`);
    const corrupt = await cli(["transcribe", "--model", dir, `${CLIPS_DIR}/seven_eight.wav`]);
    assert.equal(corrupt.code, 1);
    assert.match(
      corrupt.stderr,
      /cannot load .*encoder-model\.onnx: .*INVALID_PROTOBUF|cannot load .*encoder-model\.onnx/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transcribe answers usage mistakes with exit 2 and a hint", async () => {
  const none = await cli(["transcribe"]);
  assert.equal(none.code, 2);
  assert.match(none.stderr, /no audio files given\nTry: parakeet-server transcribe --help/);
  const dev = await cli(["transcribe", "--device", "tpu", "x.wav"]);
  assert.equal(dev.code, 2);
  assert.match(dev.stderr, /--device must be auto, cuda or cpu, got "tpu"/);
  const help = await cli(["transcribe", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--int8/);
});

Deno.test("--device cuda with the CPU build of ONNX Runtime names the missing GPU build", async () => {
  const r = await cli([
    "transcribe",
    "--model",
    TINY_MODEL,
    "--device",
    "cuda",
    `${CLIPS_DIR}/seven_eight.wav`,
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /libonnxruntime_providers_shared\.so .* is missing/);
  assert.match(r.stderr, /ORT_FLAVOR=gpu bash scripts\/setup\.sh/);
});

Deno.test({
  name: "with the GPU build and no driver, --device cuda names libcuda.so.1 and auto falls back",
  ignore: !hasGpuBuild(),
  fn: async () => {
    const env = { ORT_LIB: GPU_BUILD };
    const clip = `${CLIPS_DIR}/seven_eight.wav`;
    const cuda = await cli(["transcribe", "--model", TINY_MODEL, "--device", "cuda", clip], env);
    assert.equal(cuda.code, 1);
    assert.match(cuda.stderr, /libcuda\.so\.1 \(the NVIDIA driver library\) is missing/);
    const auto = await cli(["transcribe", "--model", TINY_MODEL, "--device", "auto", clip], env);
    assert.equal(auto.code, 0, auto.stderr);
    assert.equal(auto.stdout.trim(), reference("seven_eight.wav").text);
    const warnings = auto.stderr.split("\n").filter((l) => l.startsWith("warning:"));
    assert.equal(warnings.length, 1, `one warning line, got: ${auto.stderr}`);
    assert.match(warnings[0], /device auto: using the CPU\. .*libcuda\.so\.1/);
  },
});

Deno.test("transcribe reads through the hardened reader: a playlist naming a local file is refused", async () => {
  const dir = await Deno.makeTempDir({ prefix: "transcribe_playlist_" });
  try {
    const playlist = `${dir}/list.m3u8`;
    await Deno.writeTextFile(
      playlist,
      `#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\n${CLIPS_DIR}/digits_pi.wav\n`,
    );
    const r = await cli(["transcribe", "--model", TINY_MODEL, "--device", "cpu", playlist]);
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "", "no transcript of the file the playlist names");
    assert.match(r.stderr, /not an audio container this server reads/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("transcribe --format verbose_json names the model as the server would, and no language", async () => {
  const r = await cli([
    "transcribe",
    "--model",
    TINY_MODEL,
    "--format",
    "verbose_json",
    "--device",
    "cpu",
    `${CLIPS_DIR}/digits_pi.wav`,
  ]);
  assert.equal(r.code, 0, r.stderr);
  const out = JSON.parse(r.stdout.trim());
  assert.equal(out.model, "tiny-tdt");
  assert.equal(out.language, null);
  assert.equal(out.text, reference("digits_pi.wav").text);
});
