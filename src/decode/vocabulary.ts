import { decodePieces } from "./detokenize.ts";

/**
 * A SentencePiece vocabulary as the NeMo ONNX export writes it: `vocab.txt`, one `<piece> <id>`
 * per line, `▁` marking a word start, `<blk> <V>` last.
 */
export class Vocabulary {
  readonly pieces: readonly string[];
  readonly blankId: number;

  private constructor(pieces: string[], blankId: number) {
    this.pieces = pieces;
    this.blankId = blankId;
  }

  get size(): number {
    return this.pieces.length;
  }

  /** Parses vocab.txt; `source` names the file in error messages. */
  static parse(text: string, source = "vocab.txt"): Vocabulary {
    const pieces: string[] = [];
    const seen = new Set<number>();
    const lines = text.split("\n");
    if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
    if (lines.length === 0) throw new Error(`${source}: the vocabulary is empty`);
    for (let n = 0; n < lines.length; n++) {
      const line = lines[n].replace(/\r$/, "");
      // The piece itself may not contain a space, so the id is after the last one.
      const cut = line.lastIndexOf(" ");
      const idText = line.slice(cut + 1);
      if (cut <= 0 || !/^\d+$/.test(idText)) {
        throw new Error(
          `${source}:${n + 1}: expected "<piece> <id>", got ${JSON.stringify(line.slice(0, 80))}`,
        );
      }
      const id = Number(idText);
      if (seen.has(id)) throw new Error(`${source}:${n + 1}: id ${id} appears twice`);
      seen.add(id);
      pieces[id] = line.slice(0, cut);
    }
    for (let id = 0; id < lines.length; id++) {
      if (pieces[id] === undefined) {
        throw new Error(`${source}: ids must run from 0 to ${lines.length - 1}; ${id} is missing`);
      }
    }
    const blankId = pieces.indexOf("<blk>");
    if (blankId < 0) throw new Error(`${source}: no "<blk>" entry (the TDT blank token)`);
    return new Vocabulary(pieces, blankId);
  }

  /** The surface text of token ids, as SentencePiece decodes them (see `decodePieces`). */
  decode(ids: readonly number[]): string {
    return decodePieces(this.pieces, ids, { skip: this.blankId });
  }
}

/** True when the piece starts a new word. */
export function startsWord(piece: string): boolean {
  return piece.startsWith("\u2581");
}
