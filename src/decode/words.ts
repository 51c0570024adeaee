import { tidySpaces } from "../model/vocabulary.ts";

export interface WordTiming {
  word: string;
  /** Seconds from the start of the utterance, 3 decimals. */
  start: number;
  end: number;
}

export interface TimedTokens {
  pieces: readonly string[];
  ids: readonly number[];
  /** Encoder frame of each token. */
  frames: readonly number[];
  /** TDT duration of each token, in encoder frames. */
  durations: readonly number[];
}

const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * Words from timed tokens: a SentencePiece piece starting with `▁` opens a word. A token spans
 * its frame plus its predicted duration (at least one frame); a word runs from its first
 * token's frame to its last token's end, never past the next word's start, so times are
 * monotonic. `maxSeconds` (the audio length) caps the last end.
 */
export function wordTimings(
  t: TimedTokens,
  secondsPerFrame: number,
  maxSeconds = Infinity,
): WordTiming[] {
  const words: { text: string; startFrame: number; endFrame: number }[] = [];
  for (let i = 0; i < t.ids.length; i++) {
    const piece = t.pieces[t.ids[i]] ?? "";
    const frame = t.frames[i];
    const end = frame + Math.max(1, t.durations[i] ?? 1);
    const last = words[words.length - 1];
    if (!last || piece.startsWith("\u2581")) {
      words.push({ text: piece, startFrame: frame, endFrame: end });
    } else {
      last.text += piece;
      last.endFrame = Math.max(last.endFrame, end);
    }
  }
  return words
    .map((w, i) => {
      const next = words[i + 1];
      const endFrame = next
        ? Math.max(w.startFrame, Math.min(w.endFrame, next.startFrame))
        : w.endFrame;
      const start = Math.min(w.startFrame * secondsPerFrame, maxSeconds);
      return {
        word: tidySpaces(w.text.replaceAll("\u2581", " ")).trim(),
        start: round3(start),
        end: round3(Math.max(start, Math.min(endFrame * secondsPerFrame, maxSeconds))),
      };
    })
    .filter((w) => w.word.length > 0);
}
