import type { LogMelExtractor } from "../audio/log_mel.ts";
import { initialTdtState } from "../decode/tdt_state.ts";
import { type WordTiming, wordTimings } from "../decode/words.ts";
import type { Vocabulary } from "../model/vocabulary.ts";
import { encodedLength } from "../stream/step_plan.ts";
import {
  type InferenceModel,
  type InferenceRow,
  type InferenceStats,
  type InferenceWindow,
  runInference,
} from "./batch_inference.ts";

export interface TranscriptionModel extends InferenceModel {
  readonly vocab: Vocabulary;
  readonly secondsPerEncoderFrame: number;
  readonly config: { subsamplingFactor: number };
}

export interface Transcript {
  text: string;
  tokenIds: number[];
  /** Token pieces with `▁` shown as a space, as onnx-asr returns them. */
  tokens: string[];
  /** Encoder frame of each token. */
  frames: number[];
  /** Start of each token in seconds (frame × seconds per encoder frame). */
  timestamps: number[];
  /** Predicted duration of each token, in encoder frames. */
  durations: number[];
  /** Words with start and end in seconds. */
  words: WordTiming[];
  audioSeconds: number;
}

/**
 * Whole-clip transcription: each clip is one window (the features NeMo's `transcribe` would
 * compute: every valid frame plus the masked last one), decoded from a fresh state.
 */
export function transcribeClips(
  model: TranscriptionModel,
  extractor: LogMelExtractor,
  clips: Float32Array[],
): { transcripts: Transcript[]; stats: InferenceStats } {
  const windows: InferenceWindow[] = [];
  const rows: InferenceRow[] = [];
  const rowOfClip: number[] = [];
  for (const samples of clips) {
    const f = extractor.extract(samples);
    if (f.validFrames < 1) {
      rowOfClip.push(-1); // shorter than one feature frame: nothing to hear
      continue;
    }
    windows.push({ features: f.features, columns: f.frames, valid: f.validFrames });
    rowOfClip.push(rows.length);
    rows.push({
      parts: [{
        window: windows.length - 1,
        encoderOffset: 0,
        encoderCount: encodedLength(f.validFrames, model.config.subsamplingFactor),
      }],
      state: initialTdtState(model.spec),
    });
  }
  const { rows: results, stats } = rows.length > 0
    ? runInference(model, { windows, rows })
    : { rows: [], stats: { encoderCalls: 0, jointCalls: 0, encodeMs: 0, decodeMs: 0 } };
  const sampleRate = extractor.config.sampleRate;
  const transcripts = clips.map((samples, i) => {
    const r = rowOfClip[i] >= 0 ? results[rowOfClip[i]] : undefined;
    return toTranscript(
      model,
      r?.tokens ?? [],
      r?.frames ?? [],
      r?.durations ?? [],
      samples.length / sampleRate,
    );
  });
  return { transcripts, stats };
}

export function toTranscript(
  model: TranscriptionModel,
  tokenIds: number[],
  frames: number[],
  durations: number[],
  audioSeconds: number,
): Transcript {
  const step = model.secondsPerEncoderFrame;
  return {
    text: model.vocab.decode(tokenIds),
    tokenIds,
    tokens: tokenIds.map((id) => model.vocab.pieces[id].replaceAll("\u2581", " ")),
    frames,
    timestamps: frames.map((f) => Math.round(f * step * 1e6) / 1e6),
    durations,
    words: wordTimings(
      { pieces: model.vocab.pieces, ids: tokenIds, frames, durations },
      step,
      audioSeconds,
    ),
    audioSeconds,
  };
}
