import type { TdtRowResult } from "../decode/tdt_greedy.ts";
import { punctuationMarks, type WordTiming, wordTimings } from "../decode/words.ts";
import type { TentativeResult } from "../engine/inference_contract.ts";
import type { Vocabulary } from "../decode/vocabulary.ts";
import type { ClientMessage, ProtocolViolation, ServerMessage } from "../protocol/protocol.ts";
import { segmentEnds } from "./endpointing.ts";
import { PartialCut } from "./partial_cut.ts";
import { Utterance, type UtteranceContext, type UtteranceWork } from "./utterance.ts";

export interface StreamContext extends UtteranceContext {
  vocab: Vocabulary;
  /** Feature frames a stream may have waiting for the decoder before it is refused. */
  maxBacklogFrames: number;
  /** Told of every decoded step, for metrics. */
  observer?: StreamObserver;
  /**
   * Most words a partial repeats (0: all). Older committed words are left out and
   * `text_offset` says where the partial's text starts, so partials stay bounded however long
   * an utterance grows (a session without endpointing is one utterance).
   */
  partialMaxWords?: number;
}

export interface StepReport {
  /** From the moment the step's last chunk became decodable to its result being handled. */
  latencyMs: number;
  chunks: number;
  /** Seconds of audio the step decoded. */
  audioSeconds: number;
  tokens: number;
}

export interface StreamObserver {
  stepDone(report: StepReport): void;
}

/** A batch's share of one stream, handed to the scheduler and back. */
export interface SessionWork {
  session: StreamSession;
  utterance: Utterance;
  work: UtteranceWork;
}

/**
 * One WebSocket stream's protocol state, without the socket: audio in, partial and final
 * messages out through `send`. Utterances are decoded in order; audio that arrives after an EOS
 * (before its final went out) starts the next utterance and waits its turn, so a client may
 * pipeline. RESET drops every utterance not yet finalised, including one being decoded: no
 * message about audio sent before the RESET follows it.
 */
export class StreamSession {
  readonly id: number;
  #ctx: StreamContext;
  #send: (message: ServerMessage) => void;
  /** [0] is being decoded; the last one receives audio unless it has ended. */
  #utterances: Utterance[] = [];
  #lastPartial = "";
  /** Where partials of the current segment start: a word-start token and its text offset. */
  #partialCut = new PartialCut();
  #closed = false;
  /** Warnings for the log (e.g. a dangling odd byte dropped at EOS). */
  onWarning: (message: string) => void = () => {};
  /**
   * Background streams (uploaded files) are decoded only in batches that no live stream
   * needs, so a long file never delays live partials.
   */
  background = false;
  /** Called after each of this stream's steps is taken in (an upload feeds its next audio). */
  onStep: () => void = () => {};
  /**
   * Called when a batch holding this stream's work fails, unless the stream is closed: its
   * owner ends it (a WebSocket with 1011, an upload with an error response).
   */
  onBatchFailed: (error: Error) => void = () => {};

  /**
   * Endpointing (0: off): after this much trailing non-speech — encoder frames with no token —
   * the current segment is closed with a `segment` message and later partials start afresh.
   * It may change between steps (a realtime session's turn detection).
   */
  endpointMs: number;

  constructor(
    id: number,
    ctx: StreamContext,
    send: (message: ServerMessage) => void,
    opts: { endpointMs?: number } = {},
  ) {
    this.id = id;
    this.#ctx = ctx;
    this.#send = send;
    this.endpointMs = opts.endpointMs ?? 0;
  }

  get closed(): boolean {
    return this.#closed;
  }

  /** Feature frames waiting for the decoder over all queued utterances. */
  get backlogFrames(): number {
    return this.#utterances.reduce((n, u) => n + u.backlogFrames, 0);
  }

  /** Audio received (or an EOS) whose final has not been sent yet. */
  get pending(): boolean {
    return this.#utterances.length > 0;
  }

  /**
   * True while less audio waits than the chunk being decoded and the next one need: a file is
   * fed only that far ahead of the decoder, so its features are computed as it gets to them.
   */
  get wantsAudio(): boolean {
    const g = this.#ctx.geometry;
    return !this.#closed && this.backlogFrames < 2 * g.chunkFrames + g.rightFrames;
  }

  get busy(): boolean {
    return this.#utterances[0]?.inFlight ?? false;
  }

  /** Applies one client message; returns the violation to answer it with, if any. */
  receive(message: ClientMessage): ProtocolViolation | null {
    if (this.#closed) return null;
    switch (message.kind) {
      case "audio": {
        if (message.bytes.length === 0) return null;
        this.#receiving().pushAudio(message.bytes);
        const backlog = this.backlogFrames;
        if (backlog > this.#ctx.maxBacklogFrames) {
          const { hopLength, sampleRate } = this.#ctx.extractor.config;
          const seconds = (f: number) => (f * hopLength / sampleRate).toFixed(1);
          return {
            code: "rate_exceeded",
            message: `Cannot accept more audio: ${
              seconds(backlog)
            } s are waiting to be decoded, over the limit of ${
              seconds(this.#ctx.maxBacklogFrames)
            } s (send audio closer to real time)`,
          };
        }
        return null;
      }
      case "eos": {
        const u = this.#receiving();
        u.end();
        if (u.droppedOddByte) {
          this.onWarning(`stream ${this.id}: a dangling odd byte before EOS was dropped`);
        }
        this.#finishReady();
        return null;
      }
      case "reset":
        this.#utterances = [];
        this.#lastPartial = "";
        return null;
      case "keepalive":
        return null;
    }
  }

  /**
   * Drops the utterance still receiving audio (not ended by an EOS), even one being decoded:
   * no message about it follows. Utterances already ended keep their turn for a final.
   */
  discardOpen(): void {
    const last = this.#utterances[this.#utterances.length - 1];
    if (!last || last.ended) return;
    this.#utterances.pop();
    if (this.#utterances.length === 0) this.#lastPartial = "";
  }

  /** Float samples at the model's rate (an uploaded file), then optionally EOS. */
  pushSamples(samples: Float32Array, end: boolean): void {
    if (this.#closed) return;
    const u = this.#receiving();
    u.pushSamples(samples);
    if (end) {
      u.end();
      this.#finishReady();
    }
  }

  #receiving(): Utterance {
    const last = this.#utterances[this.#utterances.length - 1];
    if (last && !last.ended) return last;
    const u = new Utterance(this.#ctx);
    this.#utterances.push(u);
    return u;
  }

  /** Chunks ready for the decoder now (0 while a batch of this stream is in flight). */
  readyChunks(limit: number): number {
    if (this.#closed) return 0;
    return this.#utterances[0]?.readyChunks(limit) ?? 0;
  }

  takeWork(maxChunks: number): SessionWork | null {
    const u = this.#utterances[0];
    if (this.#closed || !u) return null;
    const work = u.takeWork(maxChunks);
    return work ? { session: this, utterance: u, work } : null;
  }

  /** A batch came back: commit its tokens, send a partial if the text changed, finals if done. */
  completeWork(w: SessionWork, result: TdtRowResult, tentative?: TentativeResult | null): void {
    if (this.#closed || this.#utterances[0] !== w.utterance) return; // reset meanwhile
    const u = w.utterance;
    const before = u.tokens.length;
    u.complete(w.work, result, tentative);
    const steps = w.work.steps;
    const frames = steps[steps.length - 1].chunkEnd - steps[0].chunkStart;
    this.#ctx.observer?.stepDone({
      latencyMs: performance.now() - w.work.readyAt,
      chunks: steps.reduce((n, s) => n + s.chunks, 0),
      audioSeconds: frames * this.#secondsPerFeatureFrame,
      tokens: result.tokens.length,
    });
    if (this.endpointMs > 0) this.#endpoint(u, before);
    if (!u.finished) {
      const { token: from, chars: textOffset } = this.#partialCut.advance(
        u,
        this.#ctx.vocab,
        this.#ctx.partialMaxWords ?? 0,
      );
      const ids = [...u.tokens.slice(from), ...u.tentative.tokens];
      const text = this.#ctx.vocab.decode(ids);
      if (text !== this.#lastPartial) {
        this.#lastPartial = text;
        this.#send({
          type: "partial",
          text,
          stable: this.#ctx.vocab.decode(u.tokens.slice(from)),
          words: this.#words(
            ids,
            [...u.frames.slice(from), ...u.tentative.frames],
            [...u.durations.slice(from), ...u.tentative.durations],
            u,
          ),
          ...(textOffset > 0 ? { text_offset: textOffset } : {}),
        });
      }
    }
    this.#finishReady();
    this.onStep();
  }

  /**
   * Closes segments at every pause of at least `endpointMs`: between tokens committed by this
   * batch (a backlog can commit several chunks at once), and after the last one.
   */
  #endpoint(u: Utterance, firstNew: number): void {
    const encoderFrameMs = this.#secondsPerFeatureFrame * this.#ctx.geometry.subsampling * 1000;
    for (const end of segmentEnds(u, firstNew, this.#ctx.vocab, encoderFrameMs, this.endpointMs)) {
      this.#closeSegment(u, end);
    }
  }

  /** Sends tokens [segmentStart, end) as a segment (if any) and starts the next one at `end`. */
  #closeSegment(u: Utterance, end = u.tokens.length): void {
    let from = u.segmentStart;
    // Marks decoded after the last segment went out belong to its last word; no segment opens
    // with one (the final keeps them).
    const marks = punctuationMarks(this.#ctx.vocab.pieces);
    while (
      u.segmentCount > 0 && from < end && marks.has(this.#ctx.vocab.decode([u.tokens[from]]))
    ) from++;
    if (end <= from) {
      u.segmentStart = Math.max(u.segmentStart, end);
      return;
    }
    const ids = u.tokens.slice(from, end);
    const words = this.#words(ids, u.frames.slice(from, end), u.durations.slice(from, end), u);
    this.#send({
      type: "segment",
      index: u.segmentCount++,
      text: this.#ctx.vocab.decode(ids),
      words,
      start: words[0]?.start ?? 0,
      end: words[words.length - 1]?.end ?? 0,
    });
    u.segmentStart = end;
    this.#lastPartial = "";
  }

  get #secondsPerFeatureFrame(): number {
    const c = this.#ctx.extractor.config;
    return c.hopLength / c.sampleRate;
  }

  #words(ids: number[], frames: number[], durations: number[], u: Utterance): WordTiming[] {
    return wordTimings(
      { pieces: this.#ctx.vocab.pieces, ids, frames, durations },
      this.#secondsPerFeatureFrame * this.#ctx.geometry.subsampling,
      u.samplesReceived / this.#ctx.extractor.config.sampleRate,
    );
  }

  /** A batch failed: nothing of it is committed, and the owner hears of it to end the stream. */
  failWork(w: SessionWork, error: Error): void {
    w.utterance.abandon();
    if (!this.#closed) this.onBatchFailed(error);
  }

  #finishReady(): void {
    while (this.#utterances.length > 0 && this.#utterances[0].finished) {
      const u = this.#utterances.shift()!;
      if (this.endpointMs > 0) this.#closeSegment(u);
      this.#lastPartial = "";
      this.#send({
        type: "final",
        text: this.#ctx.vocab.decode(u.tokens),
        words: this.#words(u.tokens, u.frames, u.durations, u),
      });
    }
  }

  /** Stops everything: no more work is taken and no message is sent. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#utterances = [];
  }
}
