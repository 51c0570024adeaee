import { decodePieces, isMarker } from "./detokenize.ts";

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

/** `<unk>`, `<pad>`, `<|nospeech|>`, `[MASK]`…: markers a tokenizer defines, not text. */
const SPECIAL_PIECE = /^(<.*>|\[.*\])$/s;

const punctuationCache = new WeakMap<readonly string[], ReadonlySet<string>>();

/**
 * The punctuation marks a vocabulary can emit as pieces of their own, found as NeMo finds them
 * (`extract_punctuation_from_vocab`): every character of Unicode category P in a piece that is
 * not special, not `▁`-prefixed and not blank.
 */
export function punctuationMarks(pieces: readonly string[]): ReadonlySet<string> {
  let marks = punctuationCache.get(pieces);
  if (marks) return marks;
  const found = new Set<string>();
  for (const piece of pieces) {
    if (SPECIAL_PIECE.test(piece) || piece.startsWith("##") || piece.startsWith("\u2581")) continue;
    if (piece.trim() === "") continue;
    for (const ch of piece) if (/\p{P}/u.test(ch)) found.add(ch);
  }
  marks = found;
  punctuationCache.set(pieces, marks);
  return marks;
}

/** The text a piece decodes to on its own (SentencePiece drops a leading `▁`). */
function pieceText(piece: string): string {
  return piece.replace(/^\u2581/, "").replaceAll("\u2581", " ");
}

/**
 * Each token's span in encoder frames as NeMo's TDT timestamps have it: it starts at its frame
 * and ends `duration` frames later (0 is a valid duration). A punctuation mark the model emits
 * on its own is moved to the end of the token before it, start and end: the model often emits
 * it long after the word, after a pause, and the mark belongs to the word, not to the pause.
 */
export function tokenSpans(t: TimedTokens): { start: number[]; end: number[]; mark: boolean[] } {
  const marks = punctuationMarks(t.pieces);
  const start: number[] = [];
  const end: number[] = [];
  const mark: boolean[] = [];
  for (let i = 0; i < t.ids.length; i++) {
    const isMark = marks.has(pieceText(t.pieces[t.ids[i]] ?? ""));
    mark.push(isMark);
    if (isMark && i > 0) {
      start.push(end[i - 1]);
      end.push(end[i - 1]);
    } else {
      start.push(t.frames[i]);
      end.push(t.frames[i] + (t.durations[i] ?? 0));
    }
  }
  return { start, end, mark };
}

/**
 * Words from timed tokens, as NeMo's word timestamps group them: a `▁` piece opens a word, a
 * punctuation mark joins the word before it (with or without `▁`), and a word runs from its
 * first token's start to its last token's end (see `tokenSpans`). A word never ends after the
 * next one starts, so times are monotonic; `maxSeconds` (the audio length) caps the last end.
 */
export function wordTimings(
  t: TimedTokens,
  secondsPerFrame: number,
  maxSeconds = Infinity,
): WordTiming[] {
  const span = tokenSpans(t);
  const marks = punctuationMarks(t.pieces);
  const words: { ids: number[]; startFrame: number; endFrame: number }[] = [];
  for (let i = 0; i < t.ids.length; i++) {
    const piece = t.pieces[t.ids[i]] ?? "";
    if (isMarker(piece)) continue;
    const last = words[words.length - 1];
    if (!last || (piece.startsWith("\u2581") && !span.mark[i])) {
      words.push({ ids: [t.ids[i]], startFrame: span.start[i], endFrame: span.end[i] });
    } else {
      last.ids.push(t.ids[i]);
      last.endFrame = Math.max(last.endFrame, span.end[i]);
    }
  }
  const glued = (piece: string) => marks.has(pieceText(piece));
  return words
    .map((w, i) => {
      const next = words[i + 1];
      const endFrame = next
        ? Math.max(w.startFrame, Math.min(w.endFrame, next.startFrame))
        : w.endFrame;
      const start = Math.min(w.startFrame * secondsPerFrame, maxSeconds);
      return {
        word: decodePieces(t.pieces, w.ids, { glued }).trim(),
        start: round3(start),
        end: round3(Math.max(start, Math.min(endFrame * secondsPerFrame, maxSeconds))),
      };
    })
    .filter((w) => w.word.length > 0);
}
