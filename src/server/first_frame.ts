/**
 * What the first audio frame of a WebSocket stream holds. The stream takes raw PCM only, so
 * compressed audio (a browser's MediaRecorder gives Ogg/Opus or WebM) would be decoded as noise
 * and end in an empty final with no error. Containers are told by their full magic only: raw
 * PCM whose first bytes happen to match four or more fixed bytes is vanishingly rare, whereas
 * the bare MP3 sync word (0xFFEx) is ordinary PCM (a sample near −32 k), so it is not checked.
 *
 * A WAV header is the one container let through: a client streaming a .wav file as it is sends
 * PCM after its header. When the header says 16 kHz mono 16-bit PCM it is skipped (its bytes
 * would be a click); any other WAV format is refused with what it is.
 */
import type { StreamContainer } from "../audio/ffmpeg_stream.ts";
import { sniffFormat } from "../audio/sniff.ts";
import { CONTAINER_NAMES } from "./stream_encoding.ts";

export const ACCEPTED_AUDIO = "raw 16 kHz mono 16-bit little-endian PCM (s16le)";

export type FirstFrame =
  /** Raw PCM: use the frame as it is. */
  | { kind: "pcm" }
  /** A 16 kHz mono s16le WAV: its PCM starts at byte `skip`. */
  | { kind: "wav"; skip: number }
  /** Compressed or otherwise unusable audio: `seen` names it. */
  | { kind: "refused"; seen: string };

const CONTAINERS: Record<string, string> = {
  flac: "FLAC",
  ogg: "Ogg (Opus or Vorbis)",
  webm: "WebM/Matroska",
  mp4: "MP4/M4A",
  aiff: "AIFF",
  caf: "CAF",
  amr: "AMR",
};

const ascii = (b: Uint8Array, at: number, s: string) =>
  b.length >= at + s.length && [...s].every((c, i) => b[at + i] === c.charCodeAt(0));

export function inspectFirstFrame(bytes: Uint8Array): FirstFrame {
  const format = sniffFormat(bytes);
  if (format === "wav") return inspectWav(bytes);
  if (format === "mp3") {
    // Only a tagged MP3 is certain; a frame sync word alone is plausible PCM.
    return ascii(bytes, 0, "ID3") ? { kind: "refused", seen: "MP3 (ID3 tag)" } : { kind: "pcm" };
  }
  const name = CONTAINERS[format];
  return name ? { kind: "refused", seen: name } : { kind: "pcm" };
}

/** Walks a RIFF/WAVE header's chunks in the frame: its fmt, and where the data starts. */
function inspectWav(b: Uint8Array): FirstFrame {
  const view = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let fmt: { tag: number; channels: number; rate: number; bits: number } | null = null;
  for (let at = 12; at + 8 <= b.length;) {
    const size = view.getUint32(at + 4, true);
    if (ascii(b, at, "fmt ") && at + 24 <= b.length) {
      let tag = view.getUint16(at + 8, true);
      // WAVE_FORMAT_EXTENSIBLE: the real tag is the first two bytes of the sub-format GUID.
      if (tag === 0xfffe && at + 34 <= b.length) tag = view.getUint16(at + 32, true);
      fmt = {
        tag,
        channels: view.getUint16(at + 10, true),
        rate: view.getUint32(at + 12, true),
        bits: view.getUint16(at + 22, true),
      };
    } else if (ascii(b, at, "data")) {
      if (!fmt) break;
      const { tag, channels, rate, bits } = fmt;
      if (tag === 1 && channels === 1 && rate === 16000 && bits === 16) {
        return { kind: "wav", skip: at + 8 };
      }
      const kind = tag === 1
        ? `${bits}-bit PCM`
        : tag === 3
        ? `${bits}-bit float`
        : `format ${tag}`;
      return { kind: "refused", seen: `WAV (${rate} Hz, ${channels} channel(s), ${kind})` };
    }
    at += 8 + size + (size & 1);
  }
  return { kind: "refused", seen: "a WAV header without its data chunk in the first frame" };
}

/** The `unsupported_audio` message: what was seen, what is accepted, how to get there. */
export function unsupportedAudioMessage(seen: string): string {
  return `Cannot decode this audio: the stream starts with ${seen}. /ws takes ${ACCEPTED_AUDIO} in binary frames, with no container, unless the stream declares one with the encoding parameter (/ws?encoding=ogg, webm or mp3); or decode it first (e.g. ffmpeg -i IN -f s16le -ac 1 -ar 16000 -), or POST the file to /v1/audio/transcriptions`;
}

/**
 * True when a declared container's stream starts as that container does: the Ogg page magic,
 * the EBML header of WebM, an ID3 tag or an MPEG audio frame sync for MP3. Each utterance of
 * such a stream is a whole new container, so this is checked at the start of each.
 */
export function startsAsContainer(container: StreamContainer, b: Uint8Array): boolean {
  switch (container) {
    case "ogg":
      return ascii(b, 0, "OggS");
    case "webm":
      return b.length >= 4 && b[0] === 0x1a && b[1] === 0x45 && b[2] === 0xdf && b[3] === 0xa3;
    case "mp3":
      return ascii(b, 0, "ID3") || (b.length >= 2 && b[0] === 0xff && (b[1] & 0xe0) === 0xe0);
  }
}

/** The `unsupported_audio` message for a stream that does not start as it declared. */
export function wrongContainerMessage(container: StreamContainer, b: Uint8Array): string {
  const format = sniffFormat(b);
  const seen = format === "wav" ? "a WAV header" : CONTAINERS[format] ??
    `the bytes ${[...b.subarray(0, 4)].map((x) => x.toString(16).padStart(2, "0")).join(" ")}`;
  return `Cannot decode this audio: the stream declared encoding=${container} (${
    CONTAINER_NAMES[container]
  }) but starts with ${seen}. Each utterance must start with the container's header`;
}
