/**
 * Incremental text from a stream of growing transcripts: each call gives what is new since the
 * last one, so the deltas concatenate to the transcript. Only committed (stable) text is given:
 * it only grows, while tentative text may still change. A partial that shows only the tail of a
 * long utterance (`offset`: characters left out before it) is used when it overlaps what was
 * sent already; otherwise its words wait for the final.
 */
export class TranscriptDeltas {
  #sent = "";

  /** Text given out so far. */
  get sent(): string {
    return this.#sent;
  }

  /** The new part of `stable` (which starts at character `offset` of the transcript). */
  advance(stable: string, offset = 0): string {
    const known = this.#sent.length - offset;
    if (known < 0) return "";
    if (stable.slice(0, known) !== this.#sent.slice(offset)) return "";
    // A multi-byte character whose bytes have not all been decoded shows as U+FFFD: held back.
    const end = stable.endsWith("\uFFFD") ? stable.length - 1 : stable.length;
    if (end <= known) return "";
    const delta = stable.slice(known, end);
    this.#sent += delta;
    return delta;
  }

  /** What the final `text` adds to the deltas ("" when they were not a prefix of it). */
  finish(text: string): string {
    if (!text.startsWith(this.#sent)) return "";
    const delta = text.slice(this.#sent.length);
    this.#sent = text;
    return delta;
  }
}
