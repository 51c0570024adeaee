import type { LogMelExtractor } from "../audio/log_mel.ts";
import type { Vocabulary } from "../decode/vocabulary.ts";
import { type WordTiming, wordTimings } from "../decode/words.ts";
import { runInference } from "../engine/batch_inference.ts";
import type {
  InferenceModel,
  InferenceRequest,
  InferenceRow,
  InferenceStats,
  InferenceWindow,
} from "../engine/inference_contract.ts";
import { offlineGeometry } from "./file_windows.ts";
import { fileContextFrames } from "./frame_geometry.ts";
import { SampleFeed } from "./sample_feed.ts";
import { Utterance, type UtteranceWork } from "./utterance.ts";

export interface TranscriptionModel extends InferenceModel {
  readonly vocab: Vocabulary;
  readonly secondsPerEncoderFrame: number;
  readonly config: { subsamplingFactor: number; maxEncoderFrames: number; windowStride: number };
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

/** One clip's outcome: its transcript, or why the model failed on it. */
export type ClipOutcome = { transcript: Transcript } | { error: Error };

/** One clip in progress: its utterance, and the samples not yet given to it. */
interface ClipJob {
  utterance: Utterance;
  feed: SampleFeed;
  error?: Error;
}

/**
 * Whole-clip transcription through the streaming windowing (`Utterance`), each clip decoded
 * from a fresh state. A clip that fits the model's positional table is one window: the features
 * NeMo's `transcribe` computes (every valid frame plus the masked last one). A longer clip is
 * decoded in `[left | chunk | right]` windows that fit it, the decoder state carried across.
 * The clips' windows are batched, one chunk of each clip per batch.
 */
export function transcribeClips(
  model: TranscriptionModel,
  extractor: LogMelExtractor,
  clips: Float32Array[],
): { transcripts: Transcript[]; stats: InferenceStats } {
  const { outcomes, stats } = transcribeEach(model, extractor, clips);
  const transcripts = outcomes.map((o) => {
    if ("error" in o) throw o.error;
    return o.transcript;
  });
  return { transcripts, stats };
}

/**
 * `transcribeClips`, but a clip the model fails on fails alone: a failed batch is run again one
 * clip at a time, and only the clips that fail on their own get an error.
 */
export function transcribeEach(
  model: TranscriptionModel,
  extractor: LogMelExtractor,
  clips: Float32Array[],
): { outcomes: ClipOutcome[]; stats: InferenceStats } {
  const stats: InferenceStats = { encoderCalls: 0, jointCalls: 0, encodeMs: 0, decodeMs: 0 };
  const { sampleRate, hopLength } = extractor.config;
  const jobs: ClipJob[] = clips.map((samples) => ({
    utterance: new Utterance({
      geometry: offlineGeometry(
        Math.floor(samples.length / hopLength),
        model.config.subsamplingFactor,
        model.config.maxEncoderFrames,
        fileContextFrames(model.config),
      ),
      extractor,
      spec: model.spec,
    }),
    feed: new SampleFeed(samples, sampleRate),
  }));
  const run = (batch: { job: ClipJob; work: UtteranceWork }[]) => {
    const result = runInference(model, batchRequest(batch.map((b) => b.work)));
    for (const key of Object.keys(stats) as (keyof InferenceStats)[]) {
      stats[key] += result.stats[key];
    }
    batch.forEach((b, i) => b.job.utterance.complete(b.work, result.rows[i]));
  };
  for (;;) {
    const batch: { job: ClipJob; work: UtteranceWork }[] = [];
    for (const job of jobs) {
      if (job.error) continue;
      feedOneChunk(job);
      const work = job.utterance.takeWork(1);
      if (work) batch.push({ job, work });
    }
    if (batch.length === 0) break;
    try {
      run(batch);
    } catch (err) {
      if (batch.length === 1) {
        batch[0].job.utterance.abandon();
        batch[0].job.error = err as Error;
        continue;
      }
      // Which clip failed? Each one again on its own; the others go on.
      for (const b of batch) {
        b.job.utterance.abandon();
        try {
          run([b]);
        } catch (alone) {
          b.job.utterance.abandon();
          b.job.error = alone as Error;
        }
      }
    }
  }
  const outcomes = jobs.map((job, i): ClipOutcome => {
    if (job.error) return { error: job.error };
    const u = job.utterance;
    return {
      transcript: toTranscript(
        model,
        u.tokens,
        u.frames,
        u.durations,
        clips[i].length / sampleRate,
      ),
    };
  });
  return { outcomes, stats };
}

/** Gives a clip's utterance samples until its next chunk is ready or the clip has ended. */
function feedOneChunk(job: ClipJob): void {
  const u = job.utterance;
  while (!u.ended && u.readyChunks(1) === 0) {
    const slice = job.feed.next()!;
    u.pushSamples(slice.samples);
    if (slice.last) u.end();
  }
}

/** One batch of chunk windows, one row per clip (as the scheduler lays out streams). */
function batchRequest(works: UtteranceWork[]): InferenceRequest {
  const windows: InferenceWindow[] = [];
  const rows: InferenceRow[] = works.map((w) => {
    const base = windows.length;
    windows.push(...w.windows);
    return {
      parts: w.parts.map((p) => ({ ...p, window: p.window + base })),
      state: w.state,
    };
  });
  return { windows, rows };
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
