/**
 * Endpointing: where a stream's pauses of at least `endpointMs` close segments, between tokens
 * a batch committed (a backlog can commit several chunks at once) and after the last one.
 */
import { punctuationMarks, tokenSpans } from "../decode/words.ts";
import type { Vocabulary } from "../decode/vocabulary.ts";
import type { Utterance } from "./utterance.ts";

/**
 * The token indices at which a segment ends, in order, for the tokens committed from
 * `firstNew` on; `u.tokens.length` last when the pause after the final token is long enough.
 */
export function segmentEnds(
  u: Utterance,
  firstNew: number,
  vocab: Vocabulary,
  encoderFrameMs: number,
  endpointMs: number,
): number[] {
  const ends: number[] = [];
  // Token times as words have them: a punctuation mark sits at the end of the token before
  // it, so the pause before a late mark is no boundary and a segment never opens with it.
  const first = Math.max(firstNew, u.segmentStart + 1);
  const marks = punctuationMarks(vocab.pieces);
  const isMark = (id: number) => marks.has(vocab.decode([id]));
  // From the last token that is not a mark before `first`: marks take their time from it.
  let from = Math.max(0, Math.min(first, u.tokens.length) - 1);
  while (from > 0 && isMark(u.tokens[from])) from--;
  const span = tokenSpans({
    pieces: vocab.pieces,
    ids: u.tokens.slice(from),
    frames: u.frames.slice(from),
    durations: u.durations.slice(from),
  });
  const endOf = (i: number) => span.end[i - from];
  for (let i = first; i < u.tokens.length; i++) {
    if (span.mark[i - from]) continue;
    if ((span.start[i - from] - endOf(i - 1)) * encoderFrameMs >= endpointMs) ends.push(i);
  }
  // Segments closed above end before the last token, so whether the trailing pause counts
  // depends only on where the segment stood before them.
  const last = u.tokens.length - 1;
  if (
    last >= u.segmentStart &&
    (u.decodedEncoderFrames - endOf(last)) * encoderFrameMs >= endpointMs
  ) {
    ends.push(u.tokens.length);
  }
  return ends;
}
