import type { LogMelExtractor } from "../audio/log_mel.ts";
import { Pcm16Decoder } from "../audio/pcm16.ts";
import type { StreamingLogMel } from "../audio/streaming_log_mel.ts";
import type { TdtSpec } from "../decode/joiner.ts";
import type { TdtRowResult } from "../decode/tdt_greedy.ts";
import { initialTdtState, type TdtState } from "../decode/tdt_state.ts";
import type { InferenceWindow, RowPart, TentativeResult } from "../engine/inference_contract.ts";
import { encodedLength } from "../model/subsampling.ts";
import { checkGeometry, planStep, type StepGeometry, type StepWindow } from "./step_plan.ts";

export interface UtteranceContext {
  geometry: StepGeometry;
  extractor: LogMelExtractor;
  spec: TdtSpec;
  /** Decode each window's right context speculatively, to show words sooner. */
  tentative?: boolean;
}

/** The chunks of one utterance sent to the model in one batch. */
export interface UtteranceWork {
  steps: StepWindow[];
  windows: InferenceWindow[];
  /** Parts with window indices relative to `windows`. */
  parts: RowPart[];
  /** The last window's right context, decoded speculatively (not before EOS-flushed steps). */
  tentative?: RowPart;
  state: TdtState;
  /** When the last of these chunks became decodable (performance.now()), for step latency. */
  readyAt: number;
}

/**
 * One utterance (the audio between two EOS) of a stream: PCM16 bytes → log-mel frames, each
 * computed once → chunk windows → tokens, extended step by step from the carried decoder state.
 */
export class Utterance {
  readonly #ctx: UtteranceContext;
  readonly #pcm = new Pcm16Decoder();
  readonly #mel: StreamingLogMel;
  #scratch = new Float32Array(0);
  #state: TdtState;
  #nextChunk = 0;
  #ended = false;
  #inFlight = false;
  /** When each chunk became decodable, from chunk #readyTimesBase on. */
  #readyTimes: number[] = [];
  #readyTimesBase = 0;
  readonly tokens: number[] = [];
  /** Encoder frame of each token, from the utterance start. */
  readonly frames: number[] = [];
  readonly durations: number[] = [];
  /** Speculative tokens after the committed ones (absolute frames); replaced every step. */
  tentative: TentativeResult = { tokens: [], frames: [], durations: [] };
  /** Set when the stream sent a dangling odd byte before EOS. */
  droppedOddByte = false;

  constructor(ctx: UtteranceContext) {
    checkGeometry(ctx.geometry);
    this.#ctx = ctx;
    this.#mel = ctx.extractor.createStream();
    this.#state = initialTdtState(ctx.spec);
  }

  get ended(): boolean {
    return this.#ended;
  }

  get inFlight(): boolean {
    return this.#inFlight;
  }

  get samplesReceived(): number {
    return this.#mel.samplesReceived;
  }

  /** Encoder frames decoded and committed so far. */
  get decodedEncoderFrames(): number {
    const g = this.#ctx.geometry;
    const frames = Math.min(this.#nextChunk * g.chunkFrames, this.#mel.validFrameCount);
    return encodedLength(frames, g.subsampling);
  }

  /** Tokens before this index belong to segments already closed by endpointing. */
  segmentStart = 0;
  /** Segments closed so far. */
  segmentCount = 0;

  /** Feature frames received but not yet decoded: the backlog. */
  get backlogFrames(): number {
    return Math.max(
      0,
      this.#mel.validFrameCount - this.#nextChunk * this.#ctx.geometry.chunkFrames,
    );
  }

  /** True once EOS came and every chunk was decoded. */
  get finished(): boolean {
    return this.#ended && !this.#inFlight && this.#plan(this.#nextChunk) === null;
  }

  pushAudio(bytes: Uint8Array): void {
    if (this.#ended) throw new Error("Cannot add audio to an utterance after its EOS");
    const n = this.#pcm.samplesFor(bytes.length);
    if (this.#scratch.length < n) this.#scratch = new Float32Array(Math.max(n, 4096));
    this.#pcm.decodeInto(bytes, this.#scratch);
    this.#mel.push(this.#scratch.subarray(0, n));
    this.#noteReady();
  }

  /** Audio already decoded to float samples (uploaded files): no PCM16 round trip. */
  pushSamples(samples: Float32Array): void {
    if (this.#ended) throw new Error("Cannot add audio to an utterance after its EOS");
    this.#mel.push(samples);
    this.#noteReady();
  }

  #noteReady(): void {
    const now = performance.now();
    while (this.#plan(this.#readyTimesBase + this.#readyTimes.length) !== null) {
      this.#readyTimes.push(now);
    }
  }

  /** EOS: the remaining audio becomes decodable at once, without waiting for right context. */
  end(): void {
    if (this.#ended) return;
    this.droppedOddByte = this.#pcm.hasPendingByte;
    this.#pcm.reset();
    this.#mel.flush();
    this.#ended = true;
    this.#noteReady();
  }

  #plan(index: number): StepWindow | null {
    const total = this.#ended ? this.#mel.validFrameCount : null;
    return planStep(this.#ctx.geometry, index, this.#mel.validFrameCount, total);
  }

  /** Chunks ready to decode now (at most `limit`), or 0 while a batch is in flight. */
  readyChunks(limit: number): number {
    if (this.#inFlight) return 0;
    let n = 0;
    while (n < limit && this.#plan(this.#nextChunk + n) !== null) n++;
    return n;
  }

  /** Builds the windows of up to `maxChunks` ready chunks and marks the utterance in flight. */
  takeWork(maxChunks: number): UtteranceWork | null {
    if (this.#inFlight || maxChunks < 1) return null;
    const steps: StepWindow[] = [];
    for (let k = this.#nextChunk; steps.length < maxChunks; k++) {
      const step = this.#plan(k);
      if (!step) break;
      steps.push(step);
    }
    if (steps.length === 0) return null;
    const total = this.#ended ? this.#mel.validFrameCount : -1;
    const windows = steps.map((s) => {
      // A window that ends at the end of the stream gets NeMo's masked last column, so the
      // whole-utterance window is exactly what offline transcription encodes.
      const columns = s.windowEnd - s.windowStart + (s.windowEnd === total ? 1 : 0);
      const f = this.#ctx.extractor.featuresOf(this.#mel, s.windowStart, s.windowEnd, columns);
      return { features: f.features, columns, valid: f.validFrames };
    });
    const parts = steps.map((s, i) => ({
      window: i,
      encoderOffset: s.encoderOffset,
      encoderCount: s.encoderCount,
    }));
    this.#inFlight = true;
    const lastStep = steps[steps.length - 1];
    const readyAt = this.#readyTimes[lastStep.index - this.#readyTimesBase] ?? performance.now();
    let tentative: RowPart | undefined;
    if (this.#ctx.tentative && !this.#ended) {
      const g = this.#ctx.geometry;
      const from = lastStep.encoderOffset + lastStep.encoderCount;
      const count = encodedLength(lastStep.windowEnd - lastStep.windowStart, g.subsampling) - from;
      if (count > 0) {
        tentative = { window: steps.length - 1, encoderOffset: from, encoderCount: count };
      }
    }
    return { steps, windows, parts, tentative, state: this.#state, readyAt };
  }

  /** Takes a batch's tokens; returns true when the text may have changed. */
  complete(work: UtteranceWork, result: TdtRowResult, tentative?: TentativeResult | null): boolean {
    this.#inFlight = false;
    this.tentative = { tokens: [], frames: [], durations: [] };
    if (tentative && work.tentative) {
      const last = work.steps[work.steps.length - 1];
      const base = last.windowStart / this.#ctx.geometry.subsampling + work.tentative.encoderOffset;
      this.tentative = {
        tokens: tentative.tokens,
        frames: tentative.frames.map((f) => base + f),
        durations: tentative.durations,
      };
    }
    const g = this.#ctx.geometry;
    const firstEncoderFrame = work.steps[0].chunkStart / g.subsampling;
    for (let i = 0; i < result.tokens.length; i++) {
      this.tokens.push(result.tokens[i]);
      this.frames.push(firstEncoderFrame + result.frames[i]);
      this.durations.push(result.durations[i]);
    }
    this.#state = result.state;
    const lastStep = work.steps[work.steps.length - 1];
    this.#nextChunk = lastStep.index + lastStep.chunks;
    this.#readyTimes.splice(0, this.#nextChunk - this.#readyTimesBase);
    this.#readyTimesBase = this.#nextChunk;
    // Frames before the next window's left context are never read again.
    this.#mel.discardBefore(this.#nextChunk * g.chunkFrames - g.leftFrames);
    return result.tokens.length > 0;
  }

  /** The batch failed: nothing is committed. */
  abandon(): void {
    this.#inFlight = false;
  }
}
