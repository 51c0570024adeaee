/**
 * The audio encodings a `/ws` stream may declare with `?encoding=`. Raw PCM is the default and
 * goes straight to the stream; the others are containers of compressed audio (what a browser's
 * MediaRecorder or an MP3 encoder writes), decoded by one ffmpeg process per stream.
 */
import type { StreamContainer } from "../audio/ffmpeg_stream.ts";

export const STREAM_ENCODINGS = ["pcm_s16le", "ogg", "webm", "mp3"] as const;
export type StreamEncoding = typeof STREAM_ENCODINGS[number];

/** The default: raw 16 kHz mono s16le, no container, no decoder. */
export const PCM_ENCODING = "pcm_s16le" satisfies StreamEncoding;

/** The container of a compressed encoding, or null for raw PCM. */
export function containerOf(encoding: StreamEncoding): StreamContainer | null {
  return encoding === PCM_ENCODING ? null : encoding;
}

/** What each container is called in messages. */
export const CONTAINER_NAMES: Record<StreamContainer, string> = {
  ogg: "Ogg (Opus or Vorbis)",
  webm: "WebM (Opus or Vorbis)",
  mp3: "MP3",
};

/** The `encoding` query value, or null when it names no encoding here. */
export function parseEncoding(value: string | null): StreamEncoding | null {
  if (value === null) return PCM_ENCODING;
  return (STREAM_ENCODINGS as readonly string[]).includes(value) ? value as StreamEncoding : null;
}

/** Quotes the start of `value` only: it is the client's, as long as a request head allows. */
export function badEncodingMessage(value: string): string {
  return `encoding must be one of ${STREAM_ENCODINGS.join(", ")} (default ${PCM_ENCODING}), got "${
    value.slice(0, 50)
  }"`;
}
