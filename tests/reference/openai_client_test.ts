/**
 * POST /v1/audio/transcriptions through the official `openai` Python client, and its subtitle
 * formats through real subtitle parsers (`srt`, `webvtt-py`).
 */
import assert from "node:assert/strict";
import { CLIPS_DIR, reference, ROOT } from "../engine/fixtures.ts";
import { startTestServer } from "../server/harness.ts";
import { run } from "./synth.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const SCRIPT = `${ROOT}tests/reference/openai_transcribe.py`;

const ready = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import openai, srt, webvtt"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!ready) {
  console.error(
    "openai-client tests skipped: bash tests/reference/setup_check_env.sh installs them",
  );
}

async function viaOpenAi(port: number, file: string, format: string, extra: string[] = []) {
  const out = await run(PYTHON, [
    SCRIPT,
    "--base-url",
    `http://127.0.0.1:${port}/v1`,
    "--format",
    format,
    ...extra,
    file,
  ]);
  return JSON.parse(out);
}

Deno.test({
  name: "the official openai client transcribes a WAV to the same text as transcribe",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer();
    for (const clip of ["digits_pi.wav", "six_thousand.wav"]) {
      const expected = reference(clip).text;
      const json = await viaOpenAi(srv.server.port, `${CLIPS_DIR}/${clip}`, "json");
      assert.equal(json.text, expected, clip);
      const text = await viaOpenAi(srv.server.port, `${CLIPS_DIR}/${clip}`, "text");
      assert.equal(text.text, expected);
      const verbose = await viaOpenAi(srv.server.port, `${CLIPS_DIR}/${clip}`, "verbose_json");
      assert.equal(verbose.text, expected);
      assert.equal(verbose.words.map((w: { word: string }) => w.word).join(" "), expected);
      assert.ok(verbose.segments.length >= 1);
      assert.ok(verbose.duration > 1);
    }
  },
});

Deno.test({
  name: "srt and vtt output parse with real subtitle parsers and match the words",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer();
    const clip = `${CLIPS_DIR}/yes_countdown.wav`;
    const expected = reference("yes_countdown.wav").text;
    for (const format of ["srt", "vtt"]) {
      const cues: { start: number; end: number; text: string }[] = await viaOpenAi(
        srv.server.port,
        clip,
        format,
      );
      assert.ok(cues.length >= 1, format);
      assert.equal(cues.map((c) => c.text).join(" "), expected, format);
      for (let i = 0; i < cues.length; i++) {
        assert.ok(cues[i].end > cues[i].start, `${format} cue ${i} has no length`);
        if (i > 0) assert.ok(cues[i].start >= cues[i - 1].end, `${format} cues overlap`);
      }
    }
  },
});

Deno.test({
  name: "the official openai client: models.list names the served model; transcripts report it",
  ignore: !ready,
  fn: async () => {
    // The tiny test model has no model.lock.json: it is served under its folder's name.
    const served = "tiny-tdt";
    await using srv = await startTestServer({ AUTH_TOKEN: "openai-client-token" });
    const base = `http://127.0.0.1:${srv.server.port}/v1`;
    const auth = ["--api-key", "openai-client-token"];
    const models = JSON.parse(
      await run(PYTHON, [SCRIPT, "--base-url", base, "--list-models", ...auth]),
    );
    assert.deepEqual(models.data.map((m: { id: string }) => m.id), [served]);
    assert.equal(models.data[0].object, "model");
    assert.equal(typeof models.data[0].created, "number");
    assert.deepEqual(models.retrieved, models.data);

    const clip = `${CLIPS_DIR}/digits_pi.wav`;
    const expected = reference("digits_pi.wav").text;
    const asked = await viaOpenAi(srv.server.port, clip, "verbose_json", [
      ...auth,
      "--model",
      served,
      "--language",
      "en",
    ]);
    assert.equal(asked.text, expected);
    assert.equal(asked.model, served);
    // As requested, not detected.
    assert.equal(asked.language, "en");
    const alias = await viaOpenAi(srv.server.port, clip, "verbose_json", [
      ...auth,
      "--model",
      "whisper-1",
    ]);
    assert.equal(alias.model, served);
    assert.equal(alias.language, null);
    assert.equal(alias.text, expected);

    // A model this server does not have: transcribed by the one it serves, which the answer names.
    const unknown = await viaOpenAi(srv.server.port, clip, "verbose_json", [
      ...auth,
      "--model",
      "whisper-large-v3",
    ]);
    assert.equal(unknown.model, served);
    assert.equal(unknown.text, expected);
    const badLanguage = await viaOpenAi(srv.server.port, clip, "json", [
      ...auth,
      "--language",
      "English",
    ]);
    assert.equal(badLanguage.error.code, "invalid_value");
    assert.equal(badLanguage.error.param, "language");
  },
});
