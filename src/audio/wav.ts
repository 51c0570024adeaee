import { AudioFileError } from "./audio_error.ts";
import { checkFiniteSamples } from "./finite_samples.ts";
import { checkDuration, checkSampleRate, type DecodeLimits } from "./decode_limits.ts";
import { resample } from "./resample.ts";

/** A WAV file's audio, mixed down to mono at its own sample rate. */
export interface WavAudio {
  samples: Float32Array;
  sampleRate: number;
  channels: number;
  /** e.g. "PCM 16-bit", "IEEE float 32-bit". */
  encoding: string;
  /** Non-fatal problems (truncated data chunk, partial last frame). */
  warnings: string[];
}

const FORMAT_NAMES: Record<number, string> = {
  0x0001: "PCM",
  0x0002: "Microsoft ADPCM",
  0x0003: "IEEE float",
  0x0006: "A-law",
  0x0007: "µ-law",
  0x0011: "IMA ADPCM",
  0x0022: "TrueSpeech",
  0x0031: "GSM 6.10",
  0x0040: "G.721 ADPCM",
  0x0050: "MPEG audio",
  0x0055: "MP3",
  0x00ff: "AAC",
  0x0161: "WMA",
  0x2000: "AC-3",
  0xf1ac: "FLAC",
  0xfffe: "WAVE_FORMAT_EXTENSIBLE",
};

/** "A-law (format tag 0x0006)". */
export function formatTagName(tag: number): string {
  const hex = `0x${tag.toString(16).padStart(4, "0")}`;
  return `${FORMAT_NAMES[tag] ?? "unknown codec"} (format tag ${hex})`;
}

/** The GUID tail shared by every KSDATAFORMAT_SUBTYPE_* built from a format tag. */
const SUBTYPE_TAIL = [
  0x00,
  0x00,
  0x00,
  0x00,
  0x10,
  0x00,
  0x80,
  0x00,
  0x00,
  0xaa,
  0x00,
  0x38,
  0x9b,
  0x71,
];

const SUPPORTED = "PCM 8/16/24/32-bit integer or IEEE float 32/64-bit";

function fourcc(bytes: Uint8Array, at: number): string {
  return String.fromCharCode(bytes[at], bytes[at + 1], bytes[at + 2], bytes[at + 3]);
}

function printable(bytes: Uint8Array, at: number, n: number): string {
  let s = "";
  for (let i = at; i < Math.min(bytes.length, at + n); i++) {
    const b = bytes[i];
    s += b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : `\\x${b.toString(16).padStart(2, "0")}`;
  }
  return s;
}

/** True if `bytes` start like a RIFF/RF64/BW64 WAVE file. */
export function looksLikeWav(bytes: Uint8Array): boolean {
  if (bytes.length < 12) return false;
  const id = fourcc(bytes, 0);
  return (id === "RIFF" || id === "RF64" || id === "BW64") && fourcc(bytes, 8) === "WAVE";
}

interface Fmt {
  tag: number;
  channels: number;
  sampleRate: number;
  blockAlign: number;
  bits: number;
}

/**
 * Parses a RIFF/WAVE (or RF64/BW64) file: PCM 8 (unsigned), 16, 24, 32-bit integer and IEEE
 * float 32/64, plain or WAVE_FORMAT_EXTENSIBLE, any channel count (averaged to mono), any
 * sample rate (kept). Unknown chunks (LIST, fact, bext, …) are skipped, odd-sized chunks are
 * followed by their pad byte.
 *
 * Truncated data — a data chunk whose declared size runs past the end of the file (a recorder
 * that crashed or a writer that never patched the size, e.g. 0xFFFFFFFF from a pipe) — is
 * decoded as far as whole sample frames go, with a warning, rather than rejected: the audio
 * present is intact and usually what the user wants transcribed.
 *
 * With `limits`, the sample rate and the duration the header declares are checked before any
 * sample is decoded or allocated.
 */
export function parseWav(bytes: Uint8Array, file = "<memory>", limits?: DecodeLimits): WavAudio {
  const layout = readWavLayout(bytes, file)!;
  if (limits) checkWavLimits(layout, file, limits);
  const { view, dataStart, frames, fmt, width, isFloat, encoding, warnings } = layout;
  const samples = decodeSamples(view, dataStart, frames, fmt.channels, width, isFloat);
  if (isFloat) checkFiniteSamples(samples, file);
  return { samples, sampleRate: fmt.sampleRate, channels: fmt.channels, encoding, warnings };
}

/**
 * The samples of a PCM16 mono 16 kHz WAV as they are stored: the wire's own format, so a client
 * can stream them without decoding. Any other format throws (decode it with `readWav` instead).
 */
export function wavPcm16Mono16k(bytes: Uint8Array, file = "<memory>"): Uint8Array {
  const { fmt, isFloat, width, dataStart, frames, encoding } = readWavLayout(bytes, file)!;
  if (isFloat || width !== 2 || fmt.bits !== 16 || fmt.channels !== 1 || fmt.sampleRate !== 16000) {
    throw new Error(
      `${file}: ${encoding}, ${fmt.channels} ch, ${fmt.sampleRate} Hz is not PCM 16-bit mono 16 kHz`,
    );
  }
  return bytes.subarray(dataStart, dataStart + frames * 2);
}

/** Where a WAV file's samples are and how they are stored, from its chunks. */
interface WavLayout {
  view: DataView;
  fmt: Fmt;
  dataStart: number;
  frames: number;
  width: number;
  isFloat: boolean;
  encoding: string;
  warnings: string[];
}

function checkWavLimits(layout: WavLayout, file: string, limits: DecodeLimits): void {
  checkSampleRate(layout.fmt.sampleRate, file);
  checkDuration(layout.frames, layout.fmt.sampleRate, file, limits);
}

/**
 * Checks a WAV file's header against `limits` without decoding: cheap enough for the main
 * thread, because it walks at most `maxChunks` chunks (a file of millions of tiny chunks is left
 * to the full parse, which applies the same checks). Throws the AudioFileError parseWav would.
 */
export function checkWavHeader(
  bytes: Uint8Array,
  file: string,
  limits: DecodeLimits,
  maxChunks = 4096,
): void {
  const layout = readWavLayout(bytes, file, maxChunks);
  if (layout) checkWavLimits(layout, file, limits);
}

/** The layout, or null when more than `maxChunks` chunks come before it is known. */
function readWavLayout(bytes: Uint8Array, file: string, maxChunks = Infinity): WavLayout | null {
  const fail = (code: ConstructorParameters<typeof AudioFileError>[1], p: string, e?: string) =>
    new AudioFileError(file, code, p, e);
  if (bytes.length === 0) {
    throw fail("empty-file", "the file is empty (0 bytes)", "a RIFF/WAVE file");
  }
  if (bytes.length < 12) {
    throw fail(
      "truncated-header",
      `the file is ${bytes.length} bytes, shorter than the 12-byte RIFF header`,
      "a RIFF/WAVE file",
    );
  }
  const riff = fourcc(bytes, 0);
  if ((riff !== "RIFF" && riff !== "RF64" && riff !== "BW64") || fourcc(bytes, 8) !== "WAVE") {
    throw fail(
      "not-wav",
      `it starts with "${printable(bytes, 0, 4)}…${
        printable(bytes, 8, 4)
      }", not a RIFF/WAVE header`,
      `"RIFF" (or "RF64") followed by "WAVE"`,
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const warnings: string[] = [];
  let fmt: Fmt | undefined;
  let ds64DataSize: number | undefined;
  let dataStart = -1;
  let dataSize = 0;
  let offset = 12;
  let chunks = 0;
  while (offset + 8 <= bytes.length) {
    if (++chunks > maxChunks) return null;
    const id = fourcc(bytes, offset);
    let size = view.getUint32(offset + 4, true);
    const body = offset + 8;
    if (id === "ds64" && body + 16 <= bytes.length) {
      ds64DataSize = Number(view.getBigUint64(body + 8, true));
    } else if (id === "fmt ") {
      if (size < 16 || body + 16 > bytes.length) {
        throw fail(
          "truncated-header",
          `the fmt chunk has ${Math.min(size, bytes.length - body)} bytes`,
          "at least 16",
        );
      }
      fmt = {
        tag: view.getUint16(body, true),
        channels: view.getUint16(body + 2, true),
        sampleRate: view.getUint32(body + 4, true),
        blockAlign: view.getUint16(body + 12, true),
        bits: view.getUint16(body + 14, true),
      };
      if (fmt.tag === 0xfffe) {
        if (size < 40 || body + 40 > bytes.length) {
          throw fail(
            "truncated-header",
            `the WAVE_FORMAT_EXTENSIBLE fmt chunk has ${Math.min(size, bytes.length - body)} bytes`,
            "40",
          );
        }
        const guid = body + 24;
        const tail = SUBTYPE_TAIL.every((b, i) => bytes[guid + 2 + i] === b);
        const sub = view.getUint16(guid, true);
        if (!tail) {
          throw fail(
            "unsupported-codec",
            `WAVE_FORMAT_EXTENSIBLE with a non-standard sub-format GUID`,
            SUPPORTED,
          );
        }
        fmt.tag = sub;
      }
    } else if (id === "data" && dataStart < 0) {
      if (riff !== "RIFF" && size === 0xffffffff && ds64DataSize !== undefined) {
        size = ds64DataSize;
      }
      dataStart = body;
      dataSize = size;
      const available = bytes.length - body;
      if (size > available) {
        warnings.push(
          `data chunk declares ${size} bytes but only ${available} follow (truncated file?); decoding those`,
        );
        dataSize = available;
        break;
      }
    }
    offset = body + size + (size & 1);
  }
  if (fmt === undefined) {
    throw fail("missing-fmt", "no fmt chunk found", "a fmt chunk describing the sample format");
  }
  if (dataStart < 0) {
    throw fail("missing-data", "no data chunk found", "a data chunk holding the samples");
  }
  if (fmt.channels === 0) {
    throw fail("no-channels", "the fmt chunk declares 0 channels", "at least 1");
  }
  if (fmt.sampleRate === 0) {
    throw fail("no-sample-rate", "the fmt chunk declares a sample rate of 0 Hz", "a positive rate");
  }
  const isFloat = fmt.tag === 0x0003;
  if (fmt.tag !== 0x0001 && !isFloat) {
    throw fail("unsupported-codec", `the codec is ${formatTagName(fmt.tag)}`, SUPPORTED);
  }
  // The container size per sample: blockAlign / channels when consistent, else from bits.
  let width = fmt.blockAlign > 0 && fmt.blockAlign % fmt.channels === 0
    ? fmt.blockAlign / fmt.channels
    : Math.ceil(fmt.bits / 8);
  if (width === 0) width = Math.ceil(fmt.bits / 8);
  const ok = isFloat ? width === 4 || width === 8 : width >= 1 && width <= 4;
  if (!ok) {
    throw fail(
      "unsupported-codec",
      `${isFloat ? "IEEE float" : "PCM"} with ${fmt.bits} bits in ${width}-byte samples`,
      SUPPORTED,
    );
  }
  const frameBytes = width * fmt.channels;
  const frames = Math.floor(dataSize / frameBytes);
  if (dataSize % frameBytes !== 0) {
    warnings.push(
      `data chunk size ${dataSize} is not a multiple of the ${frameBytes}-byte sample frame; ignoring the last ${
        dataSize % frameBytes
      } bytes`,
    );
  }
  if (frames === 0) {
    throw fail(
      "no-samples",
      `the data chunk holds no complete sample frame (${dataSize} bytes)`,
      "at least one sample",
    );
  }
  const encoding = `${isFloat ? "IEEE float" : "PCM"} ${isFloat ? width * 8 : fmt.bits}-bit`;
  return { view, fmt, dataStart, frames, width, isFloat, encoding, warnings };
}

function decodeSamples(
  view: DataView,
  start: number,
  frames: number,
  channels: number,
  width: number,
  isFloat: boolean,
): Float32Array {
  const out = new Float32Array(frames);
  const inv = 1 / channels;
  let pos = start;
  for (let f = 0; f < frames; f++) {
    let sum = 0;
    for (let c = 0; c < channels; c++, pos += width) {
      let v: number;
      if (isFloat) {
        v = width === 4 ? view.getFloat32(pos, true) : view.getFloat64(pos, true);
      } else if (width === 2) {
        v = view.getInt16(pos, true) / 32768;
      } else if (width === 1) {
        v = (view.getUint8(pos) - 128) / 128;
      } else if (width === 3) {
        const u = view.getUint8(pos) | (view.getUint8(pos + 1) << 8) |
          (view.getInt8(pos + 2) << 16);
        v = u / 8388608;
      } else {
        v = view.getInt32(pos, true) / 2147483648;
      }
      sum += v;
    }
    out[f] = channels === 1 ? sum : sum * inv;
  }
  return out;
}

/** `parseWav`, then resampled to `targetRate` (16 kHz by default). */
export function readWav(
  bytes: Uint8Array,
  file = "<memory>",
  targetRate = 16000,
  limits?: DecodeLimits,
): WavAudio & { sourceSampleRate: number } {
  const wav = parseWav(bytes, file, limits);
  return {
    ...wav,
    samples: resample(wav.samples, wav.sampleRate, targetRate),
    sampleRate: targetRate,
    sourceSampleRate: wav.sampleRate,
  };
}
