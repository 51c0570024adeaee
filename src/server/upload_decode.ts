/**
 * An uploaded file's samples decoded as a background session of the scheduler: fed a slice at a
 * time, stopped by the client leaving or the server's drain; for `stream=true`, with its partials
 * as they come.
 */
import type { WordTiming } from "../decode/words.ts";
import type { ServerMessage } from "../protocol/protocol.ts";
import { SampleFeed } from "../stream/sample_feed.ts";
import type { StreamSession } from "../stream/stream_session.ts";
import { DRAINED, DrainWatch } from "./drain_watch.ts";
import type { TranscriptOutcome } from "./transcript_sse.ts";

/** Where an upload's session comes from: the server's batch scheduler. */
export interface UploadSessions {
  /** A background session over the upload geometry; `send` receives its messages. */
  openSession(send: (m: ServerMessage) => void): StreamSession;
  closeSession(session: StreamSession): void;
  wake(): void;
  /**
   * Aborted when the server starts draining: a request still reading its body, decoding its
   * file or waiting for its transcript stops there and is answered 503 `shutting_down`.
   */
  shutdown?: AbortSignal;
}

export const CLIENT_LEFT = "The client left before the transcript was ready";

/** Decodes an upload for an event stream, which outlives the request handler. */
export async function streamUpload(
  samples: Float32Array,
  deps: UploadSessions,
  requestSignal: AbortSignal,
  cancelled: AbortSignal,
  onPartial: (m: ServerMessage) => void,
): Promise<TranscriptOutcome> {
  using drain = new DrainWatch(deps.shutdown);
  const signal = AbortSignal.any([requestSignal, cancelled]);
  const result = await decodeUpload(samples, deps, signal, drain, onPartial);
  if (result === DRAINED) {
    return {
      error: {
        status: 503,
        code: "shutting_down",
        message: "The server is shutting down and stopped this transcription; send the file again",
      },
    };
  }
  if ("error" in result) {
    return { error: { status: 500, code: "internal_error", message: result.error } };
  }
  return { text: result.text };
}

/** Audio handed to an upload's session at a time: about 1 ms of log-mel work per slice. */
const FEED_SLICE_SAMPLES = 16000;

/** Feeding yields to the event loop after this much work in one turn (a timer costs ~2 ms). */
const FEED_TURN_MS = 5;

/**
 * Decodes an upload's samples as a background session. The samples are fed a slice at a time,
 * only as far ahead of the decoder as its next chunk needs, yielding to the event loop between
 * slices: an hour-long file never holds up a live stream's step behind its whole log-mel. A
 * client that leaves (the request's signal) takes its session out of the scheduler at once: at
 * most the batch already running decodes anything more of it. The server's drain ends it the
 * same way.
 */
export async function decodeUpload(
  samples: Float32Array,
  deps: UploadSessions,
  signal: AbortSignal,
  drain: DrainWatch,
  onPartial?: (m: ServerMessage) => void,
): Promise<{ text: string; words: WordTiming[] } | { error: string } | typeof DRAINED> {
  const left = { error: CLIENT_LEFT };
  if (signal.aborted) return left;
  const outcome = Promise.withResolvers<
    { text: string; words: WordTiming[] } | { error: string } | typeof DRAINED
  >();
  const session = deps.openSession((m) => {
    if (m.type === "final") {
      deps.closeSession(session);
      outcome.resolve({ text: m.text, words: m.words ?? [] });
    } else if (m.type === "error") {
      deps.closeSession(session);
      outcome.resolve({ error: m.message });
    } else if (m.type === "partial") {
      onPartial?.(m);
    }
  });
  const leave = () => {
    deps.closeSession(session);
    outcome.resolve(left);
  };
  signal.addEventListener("abort", leave, { once: true });
  // The drain stops it too, and its request is answered 503 at once.
  drain.drained.then(() => {
    deps.closeSession(session);
    outcome.resolve(DRAINED);
  });
  let stepped = Promise.withResolvers<void>();
  session.onStep = () => stepped.resolve();
  const feed = new SampleFeed(samples, FEED_SLICE_SAMPLES);
  let turnStart = performance.now();
  while (!session.closed && !feed.done) {
    if (!session.wantsAudio) {
      await Promise.race([stepped.promise, outcome.promise]);
      stepped = Promise.withResolvers<void>();
      turnStart = performance.now();
      continue;
    }
    const slice = feed.next()!;
    session.pushSamples(slice.samples, slice.last);
    deps.wake();
    if (!slice.last && performance.now() - turnStart >= FEED_TURN_MS) {
      await new Promise((r) => setTimeout(r, 0));
      turnStart = performance.now();
    }
  }
  const result = await outcome.promise;
  signal.removeEventListener("abort", leave);
  return result;
}
