/**
 * The model a scripted decoder stands in for, shared by the session tests: a nine-token
 * vocabulary (with "é" and punctuation, so detokenising is exercised), its TDT shapes, and the
 * feature extractor the sessions compute frames with.
 */
import { LogMelExtractor } from "../../src/audio/log_mel.ts";
import { Vocabulary } from "../../src/decode/vocabulary.ts";
import type { StepGeometry } from "../../src/stream/step_plan.ts";
import type { StreamContext } from "../../src/stream/stream_session.ts";

export const SCRIPTED_VOCAB = Vocabulary.parse(
  ["▁Hello 0", "▁world 1", ". 2", "▁how 3", "▁are 4", "▁you 5", "? 6", "é 7", "<blk> 8"].join(
    "\n",
  ),
);

export const SCRIPTED_SPEC = {
  numClasses: 9,
  blankId: 8,
  durations: [0, 1, 2, 3, 4],
  maxSymbolsPerFrame: 10,
  encoderDim: 4,
  stateLayers: 1,
  stateHidden: 2,
};

export const SCRIPTED_EXTRACTOR = new LogMelExtractor();

/** A stream context over the scripted model with `geometry` and no backlog cap. */
export function scriptedContext(geometry: StepGeometry): StreamContext {
  return {
    geometry,
    extractor: SCRIPTED_EXTRACTOR,
    spec: SCRIPTED_SPEC,
    vocab: SCRIPTED_VOCAB,
    maxBacklogFrames: Infinity,
  };
}
