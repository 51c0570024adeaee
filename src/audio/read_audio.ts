import { AudioFileError } from "./audio_error.ts";
import { decodeWithFfmpeg, type FfmpegOptions } from "./ffmpeg.ts";
import { type SniffedFormat, sniffFormat } from "./sniff.ts";
import { readWav } from "./wav.ts";

export interface AudioFile {
  /** Mono float32 samples at 16 kHz. */
  samples: Float32Array;
  sampleRate: 16000;
  durationSec: number;
  /** What the file held, e.g. "WAV PCM 16-bit, 2 ch, 44100 Hz" or "FLAC (via ffmpeg)". */
  sourceFormat: string;
  /** Non-fatal problems worth logging (e.g. a truncated WAV data chunk). */
  warnings: string[];
}

const FORMAT_NAMES: Record<SniffedFormat, string> = {
  wav: "WAV",
  flac: "FLAC",
  ogg: "Ogg",
  mp3: "MP3",
  mp4: "MP4/M4A",
  aiff: "AIFF",
  webm: "WebM/Matroska",
  caf: "CAF",
  amr: "AMR",
  unknown: "(unrecognised content)",
};

async function readHead(path: string, n: number): Promise<Uint8Array> {
  using file = await Deno.open(path, { read: true });
  const buf = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const r = await file.read(buf.subarray(got));
    if (r === null) break;
    got += r;
  }
  return buf.subarray(0, got);
}

/**
 * Reads an audio file as 16 kHz mono float32. The format is chosen from the content (magic
 * bytes), not the extension: WAV is parsed here (and resampled by `resample`); anything else,
 * and WAV codecs this reader does not decode (A-law, ADPCM, MP3-in-WAV…), goes through ffmpeg
 * when it is installed.
 */
export async function readAudioFile(path: string, options: FfmpegOptions = {}): Promise<AudioFile> {
  const head = await readHead(path, 16);
  if (head.length === 0) {
    throw new AudioFileError(path, "empty-file", "the file is empty (0 bytes)", "an audio file");
  }
  const format = sniffFormat(head);
  if (format === "wav") {
    const bytes = await Deno.readFile(path);
    try {
      const wav = readWav(bytes, path, 16000);
      return {
        samples: wav.samples,
        sampleRate: 16000,
        durationSec: wav.samples.length / 16000,
        sourceFormat: `WAV ${wav.encoding}, ${wav.channels} ch, ${wav.sourceSampleRate} Hz`,
        warnings: wav.warnings,
      };
    } catch (err) {
      if (!(err instanceof AudioFileError && err.code === "unsupported-codec")) throw err;
      // A codec we do not decode ourselves: ffmpeg may; if it is absent, say both things.
      const samples = await decodeWithFfmpeg({ file: path, formatName: "WAV" }, options)
        .catch((e) => {
          if (e instanceof AudioFileError && e.code === "unsupported-format") {
            throw new AudioFileError(
              path,
              "unsupported-codec",
              `${err.problem}, which this reader does not decode, and ffmpeg is not installed`,
              "PCM integer or IEEE float WAV, or install ffmpeg to read it",
            );
          }
          throw e;
        });
      return ffmpegResult(samples, "WAV via ffmpeg");
    }
  }
  const samples = await decodeWithFfmpeg({ file: path, formatName: FORMAT_NAMES[format] }, options);
  return ffmpegResult(samples, `${FORMAT_NAMES[format]} (via ffmpeg)`);
}

function ffmpegResult(samples: Float32Array, sourceFormat: string): AudioFile {
  return {
    samples,
    sampleRate: 16000,
    durationSec: samples.length / 16000,
    sourceFormat,
    warnings: [],
  };
}
