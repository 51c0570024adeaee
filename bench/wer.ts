/** Word error counts (Levenshtein over words), for model evaluation. */

export interface WordErrors {
  errors: number;
  words: number;
}

/** Substitutions + insertions + deletions turning `reference` into `hypothesis`. */
export function wordErrors(reference: string, hypothesis: string): WordErrors {
  const r = reference.split(/\s+/).filter(Boolean);
  const h = hypothesis.split(/\s+/).filter(Boolean);
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return { errors: prev[h.length], words: r.length };
}

/** Sums per-utterance counts; WER is errors over reference words (0 with no words). */
export class WerTally {
  errors = 0;
  words = 0;
  utterances = 0;

  add(reference: string, hypothesis: string): WordErrors {
    const e = wordErrors(reference, hypothesis);
    this.errors += e.errors;
    this.words += e.words;
    this.utterances++;
    return e;
  }

  get wer(): number {
    return this.words === 0 ? 0 : this.errors / this.words;
  }

  toJSON(): { wer: number; errors: number; words: number; utterances: number } {
    return {
      wer: Math.round(this.wer * 10000) / 10000,
      errors: this.errors,
      words: this.words,
      utterances: this.utterances,
    };
  }
}
