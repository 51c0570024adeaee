/** Container formats told apart by their first bytes. */
export type SniffedFormat =
  | "wav"
  | "flac"
  | "ogg"
  | "mp3"
  | "mp4"
  | "aiff"
  | "webm"
  | "caf"
  | "amr"
  | "aac"
  | "unknown";

function ascii(b: Uint8Array, at: number, s: string): boolean {
  if (b.length < at + s.length) return false;
  for (let i = 0; i < s.length; i++) if (b[at + i] !== s.charCodeAt(i)) return false;
  return true;
}

/** The audio container of a file from its first bytes (16 are enough), not its name. */
export function sniffFormat(head: Uint8Array): SniffedFormat {
  if (
    (ascii(head, 0, "RIFF") || ascii(head, 0, "RF64") || ascii(head, 0, "BW64")) &&
    ascii(head, 8, "WAVE")
  ) return "wav";
  if (ascii(head, 0, "fLaC")) return "flac";
  if (ascii(head, 0, "OggS")) return "ogg";
  if (ascii(head, 0, "ID3")) return "mp3";
  // ADTS AAC shares MPEG audio's 0xFFF sync; its layer bits are 00, which MPEG audio never uses.
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xf6) === 0xf0) return "aac";
  if (head.length >= 2 && head[0] === 0xff && (head[1] & 0xe0) === 0xe0) return "mp3";
  if (ascii(head, 4, "ftyp")) return "mp4";
  if (ascii(head, 0, "FORM") && (ascii(head, 8, "AIFF") || ascii(head, 8, "AIFC"))) return "aiff";
  if (
    head.length >= 4 && head[0] === 0x1a && head[1] === 0x45 && head[2] === 0xdf && head[3] === 0xa3
  ) {
    return "webm";
  }
  if (ascii(head, 0, "caff")) return "caf";
  if (ascii(head, 0, "#!AMR")) return "amr";
  return "unknown";
}
