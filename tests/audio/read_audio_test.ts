import assert from "node:assert/strict";
import { AudioFileError } from "../../src/audio/audio_error.ts";
import { ffmpegAvailable } from "../../src/audio/ffmpeg.ts";
import { readAudioFile } from "../../src/audio/read_audio.ts";
import { sniffFormat } from "../../src/audio/sniff.ts";
import { buildWav } from "./wav_builder.ts";

const FIX = new URL("../fixtures/audio/", import.meta.url);
const HAVE_FFMPEG = await ffmpegAvailable();
const NO_FFMPEG = "/nonexistent/ffmpeg";

function amplitudeAt(y: Float32Array, freq: number, rate: number): number {
  const a = Math.floor(y.length * 0.2), b = Math.floor(y.length * 0.8);
  let s = 0, c = 0;
  for (let i = a; i < b; i++) {
    s += y[i] * Math.sin((2 * Math.PI * freq * i) / rate);
    c += y[i] * Math.cos((2 * Math.PI * freq * i) / rate);
  }
  return (2 * Math.hypot(s, c)) / (b - a);
}

/** Encodes 1 s of a 1 kHz sine (amplitude 0.125) at 44.1 kHz stereo with ffmpeg. */
async function encode(dir: string, name: string, codecArgs: string[]): Promise<string> {
  const path = `${dir}/${name}`;
  const { success, stderr } = await new Deno.Command("ffmpeg", {
    args: [
      "-nostdin",
      "-loglevel",
      "error",
      "-y",
      "-f",
      "lavfi",
      "-i",
      "sine=frequency=1000:sample_rate=44100:duration=1",
      "-ac",
      "2",
      ...codecArgs,
      path,
    ],
    stderr: "piped",
  }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
  return path;
}

Deno.test("sniffFormat tells containers apart by content", () => {
  const enc = (s: string) => new TextEncoder().encode(s);
  assert.equal(sniffFormat(enc("RIFF\0\0\0\0WAVEfmt ")), "wav");
  assert.equal(sniffFormat(enc("RF64\xff\xff\xff\xffWAVE")), "unknown"); // \xff as UTF-8 ≠ bytes
  assert.equal(
    sniffFormat(
      new Uint8Array([0x52, 0x46, 0x36, 0x34, 255, 255, 255, 255, 0x57, 0x41, 0x56, 0x45]),
    ),
    "wav",
  );
  assert.equal(sniffFormat(enc("fLaC\0\0\0\x22")), "flac");
  assert.equal(sniffFormat(enc("OggS\0\x02")), "ogg");
  assert.equal(sniffFormat(enc("ID3\x04\0\0")), "mp3");
  assert.equal(sniffFormat(new Uint8Array([0xff, 0xfb, 0x90, 0x64])), "mp3");
  assert.equal(sniffFormat(enc("\0\0\0\x20ftypM4A ")), "mp4");
  assert.equal(sniffFormat(enc("hello world")), "unknown");
});

Deno.test("readAudioFile reads WAV itself and resamples to 16 kHz", async () => {
  const a = await readAudioFile(new URL("sine_pcm24_stereo_44k1.wav", FIX).pathname, {
    ffmpegPath: NO_FFMPEG,
  });
  assert.equal(a.sampleRate, 16000);
  assert.equal(a.samples.length, 800); // round(2205 · 16000 / 44100)
  assert.equal(a.durationSec, 0.05);
  assert.equal(a.sourceFormat, "WAV PCM 24-bit, 2 ch, 44100 Hz");
  assert.ok(Math.abs(amplitudeAt(a.samples, 1000, 16000) - 0.375) < 0.01);
});

Deno.test({
  name: "readAudioFile decodes FLAC, MP3 and Ogg through ffmpeg, chosen by content not name" +
    (HAVE_FFMPEG ? "" : " (ignored: ffmpeg is not installed)"),
  ignore: !HAVE_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "audio_test_" });
    try {
      const cases: [string, string[], string][] = [
        ["clip.flac", ["-c:a", "flac"], "FLAC (via ffmpeg)"],
        ["clip.mp3", ["-c:a", "libmp3lame", "-b:a", "128k"], "MP3 (via ffmpeg)"],
        ["clip.ogg", ["-c:a", "libvorbis", "-q:a", "4"], "Ogg (via ffmpeg)"],
      ];
      for (const [name, args, label] of cases) {
        const path = await encode(dir, name, args);
        // Misleading extension: the content decides.
        const renamed = `${path}.wav`;
        await Deno.rename(path, renamed);
        const a = await readAudioFile(renamed);
        assert.equal(a.sourceFormat, label);
        assert.equal(a.sampleRate, 16000);
        assert.ok(Math.abs(a.durationSec - 1) < 0.06, `${name}: ${a.durationSec} s`);
        // ffmpeg's stereo → mono downmix of two identical channels keeps the level.
        const amp = amplitudeAt(a.samples, 1000, 16000);
        assert.ok(Math.abs(amp - 0.125) < 0.01, `${name}: amplitude ${amp}`);
      }
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "readAudioFile hands WAV codecs it does not decode (A-law) to ffmpeg" +
    (HAVE_FFMPEG ? "" : " (ignored: ffmpeg is not installed)"),
  ignore: !HAVE_FFMPEG,
  async fn() {
    const a = await readAudioFile(new URL("sine_alaw_8k.wav", FIX).pathname);
    assert.equal(a.sourceFormat, "WAV via ffmpeg");
    assert.equal(a.samples.length, 1600);
    assert.ok(Math.abs(amplitudeAt(a.samples, 1000, 16000) - 0.5) < 0.02);
  },
});

Deno.test("readAudioFile without ffmpeg says which format and to install ffmpeg", async () => {
  const dir = await Deno.makeTempDir({ prefix: "audio_test_" });
  try {
    const flac = `${dir}/x.bin`;
    await Deno.writeFile(flac, new TextEncoder().encode("fLaC\0\0\0\x22 not really"));
    await assert.rejects(readAudioFile(flac, { ffmpegPath: NO_FFMPEG }), (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "unsupported-format");
      assert.equal(
        e.message,
        `Cannot read audio file "${flac}": unsupported format FLAC without ffmpeg ` +
          `("${NO_FFMPEG}" not found); expected a WAV file, or install ffmpeg to read it`,
      );
      return true;
    });
    const alaw = new URL("sine_alaw_8k.wav", FIX).pathname;
    await assert.rejects(readAudioFile(alaw, { ffmpegPath: NO_FFMPEG }), (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "unsupported-codec");
      assert.match(
        e.message,
        /A-law \(format tag 0x0006\), which this reader does not decode, and ffmpeg is not installed; expected .* or install ffmpeg to read it/,
      );
      return true;
    });
    const empty = `${dir}/empty.wav`;
    await Deno.writeFile(empty, new Uint8Array(0));
    await assert.rejects(readAudioFile(empty), /the file is empty \(0 bytes\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("readAudioFile refuses content that is no audio container without running ffmpeg", async () => {
  const dir = await Deno.makeTempDir({ prefix: "audio_test_" });
  try {
    const path = `${dir}/notes.txt`;
    await Deno.writeTextFile(path, "these are not the samples you are looking for\n");
    // A missing ffmpeg makes no difference: it is never asked.
    await assert.rejects(readAudioFile(path, { ffmpegPath: NO_FFMPEG }), (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "unsupported-format");
      assert.match(e.message, /not an audio container this server reads; expected WAV, FLAC/);
      assert.doesNotMatch(e.message, /ffmpeg/);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "readAudioFile reports ffmpeg's own complaint about a broken file of a known container" +
    (HAVE_FFMPEG ? "" : " (ignored: ffmpeg is not installed)"),
  ignore: !HAVE_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "audio_test_" });
    try {
      const path = `${dir}/broken.flac`;
      await Deno.writeTextFile(path, "fLaC but the rest is not a stream header at all\n");
      await assert.rejects(readAudioFile(path), (e: unknown) => {
        assert.ok(e instanceof AudioFileError);
        assert.equal(e.code, "decoder-failed");
        assert.match(e.message, /ffmpeg could not decode it as FLAC \(exit code \d+: .+\)/);
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name:
    "readAudioFile refuses float audio with NaN or infinite samples that ffmpeg passes through" +
    (HAVE_FFMPEG ? "" : " (ignored: ffmpeg is not installed)"),
  ignore: !HAVE_FFMPEG,
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const floats = new Float32Array(1600).map((_, i) => Math.sin(i / 10) / 2);
      floats[800] = NaN;
      const wav = `${dir}/nan.wav`;
      await Deno.writeFile(
        wav,
        buildWav({
          formatTag: 3,
          bitsPerSample: 32,
          sampleRate: 16000,
          data: new Uint8Array(floats.buffer),
        }),
      );
      // Float PCM copied as it is into Matroska: read by ffmpeg, not by our WAV parser.
      const mkv = `${dir}/nan.mkv`;
      const made = await new Deno.Command("ffmpeg", {
        args: ["-loglevel", "error", "-i", wav, "-c:a", "copy", mkv],
        stderr: "piped",
      }).output();
      assert.ok(made.success, new TextDecoder().decode(made.stderr));
      await assert.rejects(readAudioFile(mkv), (e: unknown) => {
        assert.ok(e instanceof AudioFileError, String(e));
        assert.equal(e.code, "non-finite-sample");
        return true;
      });
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
