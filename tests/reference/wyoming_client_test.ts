/**
 * The Wyoming listener through the `wyoming` Python package's own client (AsyncTcpClient), as
 * Home Assistant talks to it: describe → info, then transcribe and audio at 22.05 kHz stereo.
 */
import assert from "node:assert/strict";
import { clipPcmBytes, CLIPS_DIR, fixtureClips, ROOT } from "../engine/fixtures.ts";
import { startTestServer, streamAudio } from "../server/harness.ts";
import { run } from "./synth.ts";
import { resample } from "../../src/audio/resample.ts";
import { pcm16ToFloat32 } from "../../src/audio/pcm16.ts";
import { buildWav } from "../audio/wav_builder.ts";

const PYTHON = `${ROOT}.tools/venv-check/bin/python`;
const SCRIPT = `${ROOT}tests/reference/wyoming_transcribe.py`;

const ready = (() => {
  try {
    return new Deno.Command(PYTHON, { args: ["-c", "import wyoming.client"], stderr: "null" })
      .outputSync().success;
  } catch {
    return false;
  }
})();
if (!ready) {
  console.error(
    "wyoming-client tests skipped: bash tests/reference/setup_check_env.sh installs the package",
  );
}

interface ClientRun {
  info: {
    asr: {
      name: string;
      supports_transcript_streaming: boolean;
      models: { name: string; languages: string[] }[];
    }[];
  };
  program: string;
  results: {
    transcript: string | null;
    language: string | null;
    chunks: string[];
    events: string[];
    error?: string;
  }[];
}

async function viaWyoming(port: number, wavs: string[]): Promise<ClientRun> {
  const out = await run(PYTHON, [SCRIPT, "--port", String(port), ...wavs]);
  return JSON.parse(out);
}

const CLIPS = ["digits_pi.wav", "six_thousand.wav"];

Deno.test({
  name: "the wyoming client: info names the model; 16 kHz mono gives /ws's transcript exactly",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer({ WYOMING_PORT: "0", WYOMING_LANGUAGES: "en, de" });
    const wy = srv.server.wyoming!;
    const got = await viaWyoming(wy.port, CLIPS.map((c) => `${CLIPS_DIR}/${c}`));
    assert.equal(got.program, "parakeet-server");
    assert.equal(got.info.asr[0].models[0].name, "tiny-tdt");
    assert.deepEqual(got.info.asr[0].models[0].languages, ["en", "de"]);
    assert.equal(got.info.asr[0].supports_transcript_streaming, true);
    for (const [i, clip] of CLIPS.entries()) {
      const ws = await streamAudio(srv.url, clipPcmBytes(clip));
      const r = got.results[i];
      assert.equal(r.transcript, ws.finals[0], clip);
      assert.equal(r.language, "en");
      assert.equal(r.events[0], "transcript-start");
      assert.deepEqual(r.events.slice(-2), ["transcript", "transcript-stop"]);
      // The chunks add up to the transcript.
      assert.equal(r.chunks.join(""), r.transcript);
    }
  },
});

/**
 * A fixture clip as a 22.05 kHz stereo 16-bit WAV: resampled with the project's band-limited
 * resampler (so the round trip back to 16 kHz keeps everything below 6.8 kHz), both channels
 * the same.
 */
function stereo22k(clip: string, dir: string): string {
  const up = resample(pcm16ToFloat32(clipPcmBytes(clip)), 16000, 22050);
  const data = new Uint8Array(up.length * 4);
  const view = new DataView(data.buffer);
  for (let i = 0; i < up.length; i++) {
    const v = Math.max(-32768, Math.min(32767, Math.round(up[i] * 32768)));
    view.setInt16(4 * i, v, true);
    view.setInt16(4 * i + 2, v, true);
  }
  const path = `${dir}/${clip}`;
  Deno.writeFileSync(path, buildWav({ channels: 2, sampleRate: 22050, bitsPerSample: 16, data }));
  return path;
}

Deno.test({
  name:
    "the wyoming client: 22.05 kHz stereo 16-bit audio is downmixed, resampled and transcribed as /ws does at 16 kHz",
  ignore: !ready,
  fn: async () => {
    await using srv = await startTestServer({ WYOMING_PORT: "0" });
    const dir = Deno.makeTempDirSync({ prefix: "wyoming-22k-" });
    try {
      const clips = fixtureClips();
      const got = await viaWyoming(srv.server.wyoming!.port, clips.map((c) => stereo22k(c, dir)));
      // Exactly /ws's text: the round trip through two band-limited resamplers changes the
      // audio only above 6.8 kHz and by rounding, which none of the clips' decodes feel.
      for (const [i, clip] of clips.entries()) {
        const ws = await streamAudio(srv.url, clipPcmBytes(clip));
        assert.equal(got.results[i].transcript, ws.finals[0], clip);
        assert.deepEqual(got.results[i].events.slice(-2), ["transcript", "transcript-stop"]);
      }
    } finally {
      Deno.removeSync(dir, { recursive: true });
    }
  },
});
