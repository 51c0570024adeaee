/**
 * Where a stream's partials start so they stay bounded however long an utterance grows (a
 * session without endpointing is one utterance): at most `maxWords` words follow the cut.
 */
import type { Vocabulary } from "../decode/vocabulary.ts";
import type { Utterance } from "./utterance.ts";

export class PartialCut {
  #utterance: Utterance | null = null;
  #segmentStart = 0;
  /** A word-start token among the committed ones (or the segment's start). */
  token = 0;
  /** The text offset of `token`: the decoded text before it plus the separating space. */
  chars = 0;

  /**
   * Moves the cut forward, to a word start among the committed tokens, so that at most
   * `maxWords` words follow it (tentative ones included; 0: no limit). It never moves back, and
   * the text before it only grows by committed words, so `chars` is kept incrementally: the
   * decoded text of [segmentStart, cut) plus the space that separates it from the rest.
   */
  advance(u: Utterance, vocab: Vocabulary, maxWords: number): { token: number; chars: number } {
    if (this.#utterance !== u || this.#segmentStart !== u.segmentStart) {
      this.#utterance = u;
      this.#segmentStart = u.segmentStart;
      this.token = u.segmentStart;
      this.chars = 0;
    }
    if (maxWords <= 0) return this;
    const pieces = vocab.pieces;
    const wordStart = (id: number) => /^\u2581[\p{L}\p{N}]/u.test(pieces[id] ?? "");
    // Counted back from the end without copying: the committed tokens grow without bound.
    const committed = u.tokens.length;
    const tokenAt = (i: number) => i < committed ? u.tokens[i] : u.tentative.tokens[i - committed];
    let words = 0;
    let target = this.token;
    for (let i = committed + u.tentative.tokens.length - 1; i > this.token; i--) {
      if (!wordStart(tokenAt(i))) continue;
      if (++words === maxWords) {
        target = i;
        break;
      }
    }
    target = Math.min(target, u.tokens.length);
    while (target > this.token && !wordStart(u.tokens[target] ?? -1)) target--;
    if (target > this.token) {
      const skipped = vocab.decode(u.tokens.slice(this.token, target));
      this.chars += skipped.length > 0 ? skipped.length + 1 : 0;
      this.token = target;
    }
    return this;
  }
}
