/**
 * `stream=true` on `POST /v1/audio/transcriptions`: the transcript as server-sent events, in
 * the shape of OpenAI's API (openai 3.57.0, types/audio/transcription_text_*_event.py):
 * `transcript.text.delta` {delta} as the file's windows are decoded — the committed text as it
 * grows — then `transcript.text.done` {text}. The deltas concatenate to the text. A failure
 * after the stream started is an event with an `error` object (which the SDKs raise).
 */
import type { ServerMessage } from "../protocol/protocol.ts";
import { TranscriptDeltas } from "../realtime/transcript_deltas.ts";

export type TranscriptOutcome =
  | { text: string }
  | { error: { status: number; code: string; message: string } };

const encoder = new TextEncoder();

function sse(event: Record<string, unknown>): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(event)}\n\n`);
}

/**
 * The event stream of one transcription. `run` decodes, telling each partial; `signal`
 * (aborted when the reader cancels) stops it; `finished` is called once, when it has ended.
 */
export function transcriptEventStream(
  run: (onPartial: (m: ServerMessage) => void, signal: AbortSignal) => Promise<TranscriptOutcome>,
  finished: () => void,
): ReadableStream<Uint8Array> {
  const cancelled = new AbortController();
  const deltas = new TranscriptDeltas();
  return new ReadableStream<Uint8Array>({
    start(controller) {
      const push = (event: Record<string, unknown>) => {
        if (!cancelled.signal.aborted) controller.enqueue(sse(event));
      };
      const onPartial = (m: ServerMessage) => {
        if (m.type !== "partial") return;
        const delta = deltas.advance(m.stable ?? m.text, m.text_offset ?? 0);
        if (delta !== "") push({ type: "transcript.text.delta", delta });
      };
      run(onPartial, cancelled.signal).then((outcome) => {
        if ("error" in outcome) {
          const { status, code, message } = outcome.error;
          push({
            type: "error",
            error: {
              message,
              type: status >= 500 ? "server_error" : "invalid_request_error",
              code,
              param: null,
            },
          });
        } else {
          const rest = deltas.finish(outcome.text);
          if (rest !== "") push({ type: "transcript.text.delta", delta: rest });
          push({ type: "transcript.text.done", text: outcome.text });
        }
      }, (err) => {
        push({
          type: "error",
          error: {
            message: String(err?.message ?? err),
            type: "server_error",
            code: "internal_error",
            param: null,
          },
        });
      }).finally(() => {
        finished();
        if (!cancelled.signal.aborted) controller.close();
      });
    },
    cancel() {
      cancelled.abort();
    },
  });
}
