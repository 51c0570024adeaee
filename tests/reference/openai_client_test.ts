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

async function viaOpenAi(port: number, file: string, format: string) {
  const out = await run(PYTHON, [
    SCRIPT,
    "--base-url",
    `http://127.0.0.1:${port}/v1`,
    "--format",
    format,
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
