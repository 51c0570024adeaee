import assert from "node:assert/strict";
import { EventIds, type ServerEvent } from "../../src/realtime/realtime_events.ts";
import { RealtimeSession, type TranscriptionStream } from "../../src/realtime/realtime_session.ts";

/** Records what the session does to its stream. */
class FakeStream implements TranscriptionStream {
  endpointMs = -1;
  backlogFrames = 0;
  samples = 0;
  ends = 0;
  discarded = 0;
  pushSamples(samples: Float32Array, end: boolean): void {
    this.samples += samples.length;
    if (end) this.ends++;
  }
  discardOpen(): void {
    this.discarded++;
  }
}

function setup(turns: "manual" | "default" = "manual") {
  const stream = new FakeStream();
  const events: ServerEvent[] = [];
  const session = new RealtimeSession(stream, {
    send: (e) => events.push(e),
    model: "parakeet-tdt-0.6b-v3",
    ...(turns === "manual" ? { turnDetection: null } : {}),
    maxBacklogFrames: 1000,
    secondsPerFrame: 0.01,
    ids: new EventIds("t"),
  });
  const types = () => events.map((e) => e.type);
  const take = () => events.splice(0);
  return { stream, events, session, types, take };
}

/** The shape of the session object these tests read. */
interface SessionShape {
  type: string;
  audio: {
    input: {
      format: { type: string; rate?: number };
      turn_detection: { type: string; silence_duration_ms: number } | null;
      transcription: { model: string };
    };
  };
}

/** `ms` of silence as 24 kHz PCM16. */
const pcm24 = (ms: number) => new Uint8Array(ms * 48);
const append = (ms: number) => ({ type: "input_audio_buffer.append" as const, audio: pcm24(ms) });
const commit = { type: "input_audio_buffer.commit" as const };

Deno.test("session.created first, with the effective transcription configuration", () => {
  const { session, events } = setup("default");
  session.start();
  assert.equal(events.length, 1);
  const e = events[0];
  assert.equal(e.type, "session.created");
  assert.match(e.event_id, /^event_/);
  const s = e.session as SessionShape;
  assert.equal(s.type, "transcription");
  assert.deepEqual(s.audio.input.format, { type: "audio/pcm", rate: 24000 });
  // OpenAI's default for transcription sessions: server VAD.
  assert.equal(s.audio.input.turn_detection?.type, "server_vad");
  assert.equal(s.audio.input.transcription.model, "parakeet-tdt-0.6b-v3");
});

Deno.test("manual commit: committed at once, deltas of the stable text, completed at the final", () => {
  const { session, stream, take } = setup();
  assert.equal(stream.endpointMs, 0);
  assert.equal(session.receive(append(500)), null);
  // 500 ms at 24 kHz → about 8000 samples at 16 kHz, less the filter's reach.
  assert.ok(stream.samples > 7000 && stream.samples < 8000, `${stream.samples}`);
  // Partials before the commit give no delta: the item does not exist yet.
  session.streamMessage({ type: "partial", text: "hello wor", stable: "hello" });
  assert.deepEqual(take(), []);
  session.receive(commit);
  assert.equal(stream.ends, 1);
  assert.equal(stream.samples, 8000);
  const [committed, first] = take();
  assert.equal(committed.type, "input_audio_buffer.committed");
  assert.equal(committed.previous_item_id, null);
  const item = committed.item_id as string;
  assert.match(item, /^item_/);
  assert.deepEqual(
    { type: first.type, item_id: first.item_id, delta: first.delta, content_index: 0 },
    {
      type: "conversation.item.input_audio_transcription.delta",
      item_id: item,
      delta: "hello",
      content_index: first.content_index,
    },
  );
  session.streamMessage({ type: "partial", text: "hello world an", stable: "hello world" });
  session.streamMessage({ type: "partial", text: "hello world and", stable: "hello world" });
  session.streamMessage({ type: "final", text: "hello world and more" });
  const rest = take();
  assert.deepEqual(rest.map((e) => [e.type, e.delta ?? e.transcript]), [
    ["conversation.item.input_audio_transcription.delta", " world"],
    ["conversation.item.input_audio_transcription.delta", " and more"],
    ["conversation.item.input_audio_transcription.completed", "hello world and more"],
  ]);
  const done = rest[2];
  assert.equal(done.item_id, item);
  assert.deepEqual(done.usage, { type: "duration", seconds: 0.5 });
  // The next item follows this one.
  session.receive(append(200));
  session.receive(commit);
  assert.equal(take()[0].previous_item_id, item);
});

Deno.test("commits pipeline: each final completes the oldest committed item", () => {
  const { session, take } = setup();
  session.receive(append(300));
  session.receive(commit);
  session.receive(append(300));
  session.receive(commit);
  const items = take().map((e) => e.item_id);
  assert.equal(items.length, 2);
  session.streamMessage({ type: "final", text: "one" });
  session.streamMessage({ type: "final", text: "two" });
  const done = take().filter((e) => e.type.endsWith(".completed"));
  assert.deepEqual(done.map((e) => [e.item_id, e.transcript]), [[items[0], "one"], [
    items[1],
    "two",
  ]]);
});

Deno.test("a commit of less than 100 ms is an error and leaves the buffer", () => {
  const { session, stream, take } = setup();
  session.receive({ ...commit, event_id: "c1" });
  const [e] = take();
  assert.equal(e.type, "error");
  const err = e.error as Record<string, unknown>;
  assert.equal(err.code, "input_audio_buffer_commit_empty");
  assert.equal(err.event_id, "c1");
  session.receive(append(50));
  session.receive(commit);
  assert.equal(take()[0].type, "error");
  session.receive(append(50));
  session.receive(commit);
  assert.equal(take()[0].type, "input_audio_buffer.committed");
  assert.equal(stream.ends, 1);
});

Deno.test("clear drops the open buffer only; committed items still complete", () => {
  const { session, stream, take } = setup();
  session.receive(append(300));
  session.receive(commit);
  const item = take()[0].item_id;
  session.receive(append(300));
  session.receive({ type: "input_audio_buffer.clear" });
  assert.equal(stream.discarded, 1);
  assert.deepEqual(take().map((e) => e.type), ["input_audio_buffer.cleared"]);
  session.streamMessage({ type: "final", text: "kept" });
  const [delta, done] = take();
  assert.equal(delta.delta, "kept");
  assert.equal(done.item_id, item);
  assert.equal(done.transcript, "kept");
  // Clearing nothing is still answered.
  session.receive({ type: "input_audio_buffer.clear" });
  assert.deepEqual(take().map((e) => e.type), ["input_audio_buffer.cleared"]);
  assert.equal(stream.discarded, 1);
});

Deno.test("server VAD: segments are turns with speech events, committed and completed", () => {
  const { session, stream, take } = setup("default");
  assert.equal(stream.endpointMs, 500);
  session.receive(append(2000));
  session.streamMessage({ type: "partial", text: "", stable: "" });
  assert.deepEqual(take(), []);
  const words = [{ word: "hi", start: 0.4, end: 0.6 }];
  session.streamMessage({ type: "partial", text: "hi", stable: "hi", words });
  const [started] = take();
  assert.equal(started.type, "input_audio_buffer.speech_started");
  assert.equal(started.audio_start_ms, 400);
  session.streamMessage({
    type: "segment",
    index: 0,
    text: "hi there",
    words,
    start: 0.4,
    end: 1.2,
  });
  const events = take();
  assert.deepEqual(events.map((e) => e.type), [
    "input_audio_buffer.speech_stopped",
    "input_audio_buffer.committed",
    "conversation.item.input_audio_transcription.delta",
    "conversation.item.input_audio_transcription.completed",
  ]);
  assert.ok(events.every((e) => e.item_id === started.item_id));
  assert.equal(events[0].audio_end_ms, 1200);
  assert.equal(events[2].delta, "hi there");
  assert.equal(events[3].transcript, "hi there");
  // A segment with no partial before it still starts its speech first.
  session.streamMessage({ type: "segment", index: 1, text: "again", words, start: 1.5, end: 1.9 });
  const second = take();
  assert.equal(second[0].type, "input_audio_buffer.speech_started");
  assert.equal(second[2].previous_item_id, started.item_id);
  // The utterance's final repeats the segments: no item of its own.
  session.receive(commit);
  assert.deepEqual(take(), []);
  session.streamMessage({ type: "final", text: "hi there again" });
  assert.deepEqual(take(), []);
});

Deno.test("turn detection changes with session.update, from the next buffer", () => {
  const { session, stream, take } = setup();
  session.receive(append(200));
  session.receive({
    type: "session.update",
    session: {
      turnDetection: {
        type: "server_vad",
        silence_duration_ms: 800,
        threshold: 0.5,
        prefix_padding_ms: 300,
      },
    },
  });
  const [updated] = take();
  assert.equal(updated.type, "session.updated");
  assert.equal(
    (updated.session as SessionShape).audio.input.turn_detection?.silence_duration_ms,
    800,
  );
  // The open buffer keeps manual commits.
  assert.equal(stream.endpointMs, 0);
  session.receive(commit);
  assert.equal(take()[0].type, "input_audio_buffer.committed");
  session.receive(append(200));
  // The committed manual buffer is decoded first, without endpointing.
  assert.equal(stream.endpointMs, 0);
  // Back to manual: the server-VAD turn keeps its endpointing while it is decoded (its last
  // segment is its last item), from the manual one's final to its own; then the stream
  // follows the manual buffer.
  session.receive({ type: "session.update", session: { turnDetection: null } });
  session.receive(commit);
  session.receive(append(200));
  assert.equal(stream.endpointMs, 0);
  session.streamMessage({ type: "final", text: "manual one" });
  assert.equal(stream.endpointMs, 800);
  session.streamMessage({ type: "final", text: "vad one" });
  assert.equal(stream.endpointMs, 0);
});

Deno.test("a committed manual item is decoded without endpointing while a server-VAD buffer waits", () => {
  const { session, stream, take } = setup();
  session.receive(append(200));
  session.receive(commit);
  session.receive({
    type: "session.update",
    session: {
      turnDetection: {
        type: "server_vad",
        silence_duration_ms: 500,
        threshold: 0.5,
        prefix_padding_ms: 300,
      },
    },
  });
  session.receive(append(200));
  // Segments would restart the partials the manual item's deltas are read from.
  assert.equal(stream.endpointMs, 0);
  take();
  session.streamMessage({ type: "partial", text: "Hello world", stable: "Hello world" });
  session.streamMessage({ type: "final", text: "Hello world, how are you" });
  const events = take();
  const deltas = events.filter((e) => e.type.endsWith("transcription.delta")).map((e) => e.delta);
  const completed = events.find((e) => e.type.endsWith("transcription.completed"))!;
  assert.equal(deltas.join(""), completed.transcript);
  // The server-VAD buffer is decoded next, with its endpointing.
  assert.equal(stream.endpointMs, 500);
});

Deno.test("audio format: μ-law at 8 kHz; changing it with audio buffered is refused", () => {
  const { session, stream, take } = setup();
  session.receive({ type: "session.update", session: { format: { type: "audio/pcmu" } } });
  take();
  session.receive({ type: "input_audio_buffer.append", audio: new Uint8Array(800).fill(0xff) });
  session.receive(commit);
  // 100 ms at 8 kHz → 1600 samples at 16 kHz.
  assert.equal(stream.samples, 1600);
  take();
  session.receive({ type: "input_audio_buffer.append", audio: new Uint8Array(80) });
  session.receive({
    type: "session.update",
    event_id: "u",
    session: { format: { type: "audio/pcm", rate: 24000 } },
  });
  const [e] = take();
  assert.equal(e.type, "error");
  assert.equal((e.error as { param: string }).param, "session.audio.input.format");
  assert.equal(
    (session.sessionObject() as unknown as SessionShape).audio.input.format.type,
    "audio/pcmu",
  );
});

Deno.test("too much audio waiting for the decoder is fatal", () => {
  const { session, stream } = setup();
  stream.backlogFrames = 1001;
  const fatal = session.receive(append(100));
  assert.equal(fatal?.error.code, "rate_exceeded");
});

Deno.test("a failed decode fails every committed item, then the session", () => {
  const { session, take } = setup();
  session.receive(append(300));
  session.receive(commit);
  const item = take()[0].item_id;
  const fatal = session.streamFailed("boom");
  const [failed] = take();
  assert.equal(failed.type, "conversation.item.input_audio_transcription.failed");
  assert.equal(failed.item_id, item);
  assert.equal(fatal.error.type, "server_error");
});

Deno.test("before the end, a server-VAD turn is flushed and a manual buffer dropped", () => {
  const vad = setup("default");
  vad.session.receive(append(300));
  vad.session.finishBuffered();
  assert.equal(vad.stream.ends, 1);
  assert.equal(vad.stream.discarded, 0);
  vad.session.streamMessage({
    type: "segment",
    index: 0,
    text: "tail",
    words: [],
    start: 0,
    end: 0.3,
  });
  assert.equal(vad.take().at(-1)?.transcript, "tail");

  const manual = setup();
  manual.session.receive(append(300));
  manual.session.receive(commit);
  manual.session.receive(append(300));
  manual.session.finishBuffered();
  assert.equal(manual.stream.ends, 1);
  assert.equal(manual.stream.discarded, 1);
  // The committed item still completes.
  manual.take();
  manual.session.streamMessage({ type: "final", text: "done" });
  assert.equal(manual.take().at(-1)?.transcript, "done");
});

Deno.test("session.update: a model the client names is not reported as served; language is", () => {
  const { session, take } = setup();
  session.receive({
    type: "session.update",
    session: { transcription: { model: "gpt-4o-transcribe", language: "de", prompt: "names" } },
  });
  const [updated] = take();
  assert.equal(updated.type, "session.updated");
  const t = (updated.session as SessionShape).audio.input.transcription as {
    model: string;
    language: string | null;
    prompt: string;
  };
  assert.deepEqual(t, { model: "parakeet-tdt-0.6b-v3", language: "de", prompt: "names" });
});
