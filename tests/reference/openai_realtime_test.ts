/**
 * OpenAI's Realtime API (`/v1/realtime`, transcription session) and `stream=true` transcriptions
 * through the official `openai` Python client (tests/reference/openai_realtime.py).
 */
import assert from "node:assert/strict";
import { resample } from "../../src/audio/resample.ts";
import { clipPcmBytes, CLIPS_DIR, clipSamples, longClipWav, ROOT } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "../server/harness.ts";
import { run } from "./synth.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const SCRIPT = `${ROOT}tests/reference/openai_realtime.py`;

const ready = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import openai, websockets"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!ready) {
  console.error(
    "openai realtime tests skipped: bash tests/reference/setup_check_env.sh installs them",
  );
}

/** A clip as the Realtime API's audio/pcm takes it: PCM16 LE mono at 24 kHz. */
async function pcm24(clip: string): Promise<Uint8Array> {
  const samples = resample(await clipSamples(clip), 16000, 24000);
  const bytes = new Uint8Array(samples.length * 2);
  const view = new DataView(bytes.buffer);
  samples.forEach((x, i) => {
    view.setInt16(i * 2, Math.max(-32768, Math.min(32767, Math.round(x * 32768))), true);
  });
  return bytes;
}

async function viaOpenAi(
  mode: "realtime" | "sse",
  port: number,
  file: string,
  extra: string[] = [],
) {
  const out = await run(PYTHON, [
    SCRIPT,
    mode,
    "--base-url",
    `http://127.0.0.1:${port}/v1`,
    ...extra,
    file,
  ]);
  return JSON.parse(out);
}

Deno.test({
  name: "realtime: the official openai client transcribes 24 kHz PCM to the text /ws gives",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer();
    const dir = await Deno.makeTempDir();
    try {
      for (const clip of ["digits_pi.wav", "six_thousand.wav"]) {
        const ws = await streamAudio(srv.url, clipPcmBytes(clip));
        assert.equal(ws.finals.length, 1, clip);
        const file = `${dir}/${clip}.pcm`;
        await Deno.writeFile(file, await pcm24(clip));
        const got = await viaOpenAi("realtime", srv.port, file);
        assert.deepEqual(got.errors, [], clip);
        assert.deepEqual(got.events.slice(0, 3), [
          "session.created",
          "session.updated",
          "input_audio_buffer.committed",
        ]);
        assert.equal(got.session.audio.input.turn_detection, null);
        assert.deepEqual(got.session.audio.input.format, { type: "audio/pcm", rate: 24000 });
        assert.equal(got.completed.transcript, ws.finals[0], clip);
        assert.equal(got.completed.item_id, got.committed);
        assert.ok(got.deltas.every((d: { item_id: string }) => d.item_id === got.committed));
        assert.equal(got.deltas.map((d: { delta: string }) => d.delta).join(""), ws.finals[0]);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "stream=true: deltas concatenate to the done text, which is the non-streamed text",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer();
    const dir = await Deno.makeTempDir();
    // A long file is decoded in several windows: its text arrives in several deltas.
    const long = `${dir}/long.wav`;
    await Deno.writeFile(long, longClipWav(60).wav);
    const files = [`${CLIPS_DIR}/digits_pi.wav`, `${CLIPS_DIR}/yes_countdown.wav`, long];
    for (const clip of files) {
      const got = await viaOpenAi("sse", srv.port, clip);
      const events: { type: string; delta?: string; text?: string }[] = got.events;
      const done = events.at(-1)!;
      assert.equal(done.type, "transcript.text.done", clip);
      const deltas = events.slice(0, -1);
      assert.ok(deltas.length >= 1, clip);
      assert.ok(deltas.every((e) => e.type === "transcript.text.delta"), clip);
      assert.equal(deltas.map((e) => e.delta).join(""), done.text, clip);
      assert.equal(done.text, got.text, clip);
      if (clip === long) assert.ok(deltas.length > 1, `${deltas.length} deltas`);
    }
    await Deno.remove(dir, { recursive: true });
    // Streamed events are text: a subtitle format cannot be streamed.
    const form = new FormData();
    form.append("file", new Blob([await Deno.readFile(`${CLIPS_DIR}/digits_pi.wav`)]), "a.wav");
    form.append("stream", "true");
    form.append("response_format", "srt");
    const refused = await fetch(`${srv.http}/v1/audio/transcriptions`, {
      method: "POST",
      body: form,
    });
    assert.equal(refused.status, 400);
    assert.equal((await refused.json()).error.code, "unsupported_value");
  },
});

Deno.test({
  name: "realtime: with AUTH_TOKEN the client's API key is the Bearer token the upgrade needs",
  ignore: !ready,
  fn: async () => {
    const token = "realtime-test-token-0123456789";
    await using srv = await startTestServer({ AUTH_TOKEN: token });
    const dir = await Deno.makeTempDir();
    try {
      const file = `${dir}/clip.pcm`;
      await Deno.writeFile(file, await pcm24("digits_pi.wav"));
      const got = await viaOpenAi("realtime", srv.port, file, ["--api-key", token]);
      assert.ok(got.completed.transcript.length > 0);
      await assert.rejects(
        viaOpenAi("realtime", srv.port, file, ["--api-key", "wrong-token-0123456789"]),
        /HTTP 401/,
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
