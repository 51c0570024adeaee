/**
 * The `encoding` query parameter of `/ws`, checked before the upgrade: an unknown value is a bad
 * request (400); a compressed encoding on a server without ffmpeg is not implemented here (501),
 * while raw PCM never needs it. The decoder slots (MAX_ENCODED_STREAMS) are taken by the route
 * with its other caps.
 */
import { ffmpegAvailable } from "../audio/ffmpeg.ts";
import type { StreamContainer } from "../audio/ffmpeg_stream.ts";
import type { EncodedStreamSlots } from "./encoded_stream_slots.ts";
import { refuse, type ServerCore } from "./server_core.ts";
import { badEncodingMessage, containerOf, parseEncoding } from "./stream_encoding.ts";

/** The container a stream declared, or null for raw PCM. */
export type EncodedContainer = StreamContainer | null;

export interface EncodingAdmission {
  readonly slots: EncodedStreamSlots;
  /** The ffmpeg executable the decoders run. */
  readonly ffmpegPath: string;
  /** Whether it starts: asked once, at the first stream that needs it. */
  ffmpegFound: Promise<boolean> | null;
}

/** The declared container, or the refusal. */
export async function admitEncoding(
  core: ServerCore,
  admission: EncodingAdmission,
  url: URL,
): Promise<EncodedContainer | Response> {
  const value = url.searchParams.get("encoding");
  const encoding = parseEncoding(value);
  if (encoding === null) return refuse(core, "bad_request", 400, badEncodingMessage(value!));
  const container = containerOf(encoding);
  if (container === null) return null;
  admission.ffmpegFound ??= ffmpegAvailable(admission.ffmpegPath);
  if (!(await admission.ffmpegFound)) {
    return refuse(
      core,
      "no_decoder",
      501,
      `encoding=${encoding} needs ffmpeg, which this server cannot run ("${admission.ffmpegPath}"); send raw PCM (encoding=pcm_s16le, the default) instead`,
    );
  }
  return container;
}
