/**
 * How ffmpeg may read one uploaded file: only as the audio container its content sniffed as,
 * forced with `-f` (so ffmpeg never probes it as an HLS or concat playlist, an image sequence or
 * anything else that names other inputs), and through only the one protocol that input needs
 * (`pipe` for stdin, `file` for a private copy). Pure: the argument list, no process.
 */
import type { SniffedFormat } from "./sniff.ts";

export interface FfmpegInputSpec {
  /** ffmpeg's demuxer (`ffmpeg -demuxers`). */
  demuxer: string;
  /**
   * True when the demuxer may need to seek (MP4's index often sits at the end; AIFF and CAF
   * headers may point forward): the bytes go to a private file. Others stream through stdin.
   */
  seeks: boolean;
  /** Demuxer options that keep it on the one input (MP4 "external data references" are off). */
  options: string[];
}

export type DecodableFormat = Exclude<SniffedFormat, "unknown">;

export const FFMPEG_INPUTS: Record<DecodableFormat, FfmpegInputSpec> = {
  wav: { demuxer: "wav", seeks: false, options: [] },
  flac: { demuxer: "flac", seeks: false, options: [] },
  ogg: { demuxer: "ogg", seeks: false, options: [] },
  mp3: { demuxer: "mp3", seeks: false, options: [] },
  aac: { demuxer: "aac", seeks: false, options: [] },
  amr: { demuxer: "amr", seeks: false, options: [] },
  webm: { demuxer: "matroska", seeks: false, options: [] },
  mp4: { demuxer: "mov", seeks: true, options: ["-enable_drefs", "0", "-use_absolute_path", "0"] },
  aiff: { demuxer: "aiff", seeks: true, options: [] },
  caf: { demuxer: "caf", seeks: true, options: [] },
};

/**
 * The command line decoding `input` (`pipe:0`, or a path in a private folder) into mono float32
 * at `rate`, stopping after `maxSeconds` of output (a backstop: the reader counts the bytes).
 */
export function ffmpegArgs(
  spec: FfmpegInputSpec,
  input: { pipe: true } | { path: string },
  rate: number,
  maxSeconds: number,
): string[] {
  const url = "pipe" in input ? "pipe:0" : `file:${input.path}`;
  return [
    "-nostdin",
    "-hide_banner",
    "-loglevel",
    "error",
    "-protocol_whitelist",
    "pipe" in input ? "pipe" : "file",
    "-f",
    spec.demuxer,
    ...spec.options,
    "-threads",
    "1",
    "-i",
    url,
    "-map",
    "0:a:0",
    "-t",
    String(maxSeconds),
    "-ac",
    "1",
    "-ar",
    String(rate),
    "-c:a",
    "pcm_f32le",
    "-f",
    "f32le",
    "pipe:1",
  ];
}
