/**
 * Token ids to text as SentencePiece decodes them: pieces joined with `▁` read as a space, the
 * first piece's leading `▁` dropped, runs of byte pieces (`<0xNN>`) read as UTF-8 (a byte that
 * is not valid UTF-8 reads as U+FFFD). Markers — `<unk>`, `<pad>`, `<|nospeech|>` and every other
 * `<…>` piece, whether the tokenizer made it a control or a user-defined symbol — are not text
 * and print nothing: SentencePiece shows `<unk>` as " ⁇ " and user-defined pieces literally, and
 * a transcript must show neither.
 */
export function decodePieces(
  pieces: readonly string[],
  ids: readonly number[],
  opts: {
    /** Ids that print nothing (the blank). */
    skip?: number;
    /** Pieces printed without their leading `▁` (punctuation joined to the word before it). */
    glued?: (piece: string) => boolean;
  } = {},
): string {
  let text = "";
  let bytes: number[] = [];
  let atStart = true;
  const flushBytes = () => {
    if (bytes.length === 0) return;
    text += UTF8.decode(new Uint8Array(bytes));
    bytes = [];
    atStart = false;
  };
  for (const id of ids) {
    const piece = pieces[id];
    if (piece === undefined || id === opts.skip) continue;
    const byte = BYTE_PIECE.exec(piece);
    if (byte) {
      bytes.push(parseInt(byte[1], 16));
      continue;
    }
    if (isMarker(piece)) continue;
    flushBytes();
    const bare = atStart || !!opts.glued?.(piece) ? piece.replace(/^\u2581/, "") : piece;
    const surface = bare.replaceAll("\u2581", " ");
    if (surface === "") continue;
    text += surface;
    atStart = false;
  }
  flushBytes();
  return text;
}

const UTF8 = new TextDecoder("utf-8", { fatal: false });
const BYTE_PIECE = /^<0x([0-9A-Fa-f]{2})>$/;

/** A tokenizer's marker piece (`<unk>`, `<pad>`, `<|nospeech|>`, `<blk>`…), never text. */
export function isMarker(piece: string): boolean {
  return /^<.+>$/s.test(piece) && !BYTE_PIECE.test(piece);
}

/** True for a byte-fallback piece (`<0x41>`). */
export function isBytePiece(piece: string): boolean {
  return BYTE_PIECE.test(piece);
}
