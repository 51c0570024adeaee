import { AudioFileError } from "./audio_error.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  flacDeclaredSeconds,
  tooLong,
} from "./decode_limits.ts";
import { decodeWithFfmpeg, type FfmpegOptions } from "./ffmpeg.ts";
import { type DecodableFormat, FFMPEG_INPUTS } from "./ffmpeg_input.ts";
import { type SniffedFormat, sniffFormat } from "./sniff.ts";
import { checkWavHeader } from "./wav.ts";
import { decodeWavInWorker, NeedsFfmpeg } from "./wav_in_worker.ts";

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

export interface ReadAudioOptions extends FfmpegOptions {
  limits?: DecodeLimits;
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
  aac: "AAC (ADTS)",
  unknown: "(unrecognised content)",
};

const KNOWN = (Object.keys(FFMPEG_INPUTS) as DecodableFormat[]).map((f) => FORMAT_NAMES[f]);

/**
 * Reads an audio file as 16 kHz mono float32 (see `decodeAudio`); `path` is only read, and
 * named in messages.
 */
export async function readAudioFile(
  path: string,
  options: ReadAudioOptions = {},
): Promise<AudioFile> {
  return await decodeAudio(await Deno.readFile(path), path, options);
}

/**
 * Decodes a file's bytes as 16 kHz mono float32. The format is chosen from the content (magic
 * bytes), never a name: WAV is parsed and resampled here, in a worker; the other audio
 * containers, and WAV codecs this reader does not decode (A-law, ADPCM, MP3-in-WAV…), go through
 * ffmpeg when it is installed, held to that container. Content that is none of them is refused
 * without running anything. `file` names the input in messages. The bytes' buffer is handed to
 * the decoder: the caller must not use `bytes` afterwards.
 */
export async function decodeAudio(
  bytes: Uint8Array,
  file: string,
  options: ReadAudioOptions = {},
): Promise<AudioFile> {
  const limits = options.limits ?? DEFAULT_DECODE_LIMITS;
  if (bytes.length === 0) {
    throw new AudioFileError(file, "empty-file", "the file is empty (0 bytes)", "an audio file");
  }
  const format = sniffFormat(bytes.subarray(0, 16));
  if (format === "unknown") {
    throw new AudioFileError(
      file,
      "unsupported-format",
      "the content is not an audio container this server reads",
      KNOWN.join(", "),
    );
  }
  if (format === "wav") {
    try {
      // Bombs (a 4 MHz rate, hours declared in a few bytes) are refused here at once, before a
      // worker is started; the worker then does the decoding and resampling.
      checkWavHeader(bytes, file, limits);
      const wav = await decodeWavInWorker(bytes, file, limits, options.signal);
      return {
        samples: wav.samples,
        sampleRate: 16000,
        durationSec: wav.samples.length / 16000,
        sourceFormat: `WAV ${wav.encoding}, ${wav.channels} ch, ${wav.sourceSampleRate} Hz`,
        warnings: wav.warnings,
      };
    } catch (err) {
      const needsFfmpeg = err instanceof NeedsFfmpeg
        ? { cause: err.cause, bytes: err.bytes }
        : err instanceof AudioFileError && err.code === "unsupported-codec"
        ? { cause: err, bytes } // found by the header check: the bytes are still ours
        : null;
      if (!needsFfmpeg) throw err;
      // A codec we do not decode ourselves: ffmpeg may; if it is absent, say both things.
      const source = { file, formatName: "WAV", spec: FFMPEG_INPUTS.wav, bytes: needsFfmpeg.bytes };
      const samples = await decodeWithFfmpeg(source, { ...options, limits }).catch((e) => {
        if (e instanceof AudioFileError && e.code === "unsupported-format") {
          throw new AudioFileError(
            file,
            "unsupported-codec",
            `${needsFfmpeg.cause.problem}, which this reader does not decode, and ffmpeg is not installed`,
            "PCM integer or IEEE float WAV, or install ffmpeg to read it",
          );
        }
        throw e;
      });
      return ffmpegResult(samples, "WAV via ffmpeg");
    }
  }
  if (format === "flac") {
    // A FLAC file says how long it is: one that declares more than the limit is refused before
    // ffmpeg runs (1 h of silence is 190 KB).
    const declared = flacDeclaredSeconds(bytes);
    if (declared !== null && declared > limits.maxDurationS) throw tooLong(file, declared, limits);
  }
  const source = { file, formatName: FORMAT_NAMES[format], spec: FFMPEG_INPUTS[format], bytes };
  const samples = await decodeWithFfmpeg(source, { ...options, limits });
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
