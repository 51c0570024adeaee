/**
 * Fuzz of the Realtime session's state machine (`src/realtime/realtime_session.ts`) over a real
 * stream session whose decoder is scripted (no model runs): appends of any size in any of the
 * three formats, commits, clears and session.updates (turn detection on and off, formats changed
 * with audio buffered or not), some of them as mutated JSON through the event parser, in any
 * order and interleaved with decoded steps. Invariants: nothing throws; every event is a JSON
 * server event with a fresh event_id; each item is committed at most once and completed or
 * failed at most once, after its commit, in commit order, its deltas adding up to its
 * transcript; nothing follows about an item whose buffer was cleared; accepted audio keeps the
 * backlog within its cap; and once the client stops, every committed item completes.
 */
import assert from "node:assert/strict";
import { initialTdtState } from "../../src/decode/tdt_state.ts";
import {
  type ClientEvent,
  EventIds,
  type EventLimits,
  parseClientEvent,
  type ServerEvent,
} from "../../src/realtime/realtime_events.ts";
import { RealtimeSession } from "../../src/realtime/realtime_session.ts";
import type { ServerMessage } from "../../src/protocol/protocol.ts";
import { type SessionWork, StreamSession } from "../../src/stream/stream_session.ts";
import { fuzzStructured, mutateJson } from "../fuzz/json_mutator.ts";
import { randomBytes, type Rng } from "../fuzz/mutator.ts";
import { SCRIPTED_EXTRACTOR, SCRIPTED_SPEC, SCRIPTED_VOCAB } from "../fuzz/scripted_model.ts";

const VOCAB = SCRIPTED_VOCAB;
const SPEC = SCRIPTED_SPEC;
const EXTRACTOR = SCRIPTED_EXTRACTOR;
const LIMITS: EventLimits = { maxEventBytes: 1 << 20, maxAppendBytes: 256 * 1024 };
const SECONDS_PER_FRAME = 0.01;

const EVENT_TYPES = new Set([
  "session.created",
  "session.updated",
  "error",
  "input_audio_buffer.committed",
  "input_audio_buffer.cleared",
  "input_audio_buffer.speech_started",
  "input_audio_buffer.speech_stopped",
  "conversation.item.input_audio_transcription.delta",
  "conversation.item.input_audio_transcription.completed",
  "conversation.item.input_audio_transcription.failed",
]);

type Op =
  | { op: "event"; event: ClientEvent }
  | { op: "text"; text: string }
  | { op: "take" | "complete" | "fail" | "finish" };

interface Case {
  vad: boolean;
  maxBacklogFrames: number;
  ops: Op[];
}

const b64 = (bytes: Uint8Array) => {
  let s = "";
  for (let i = 0; i < bytes.length; i += 8192) {
    s += String.fromCharCode(...bytes.subarray(i, i + 8192));
  }
  return btoa(s);
};

function sessionUpdate(rng: Rng): ClientEvent {
  const update: Extract<ClientEvent, { type: "session.update" }>["session"] = {};
  if (rng.next() < 0.6) {
    update.format = rng.pick([
      { type: "audio/pcm", rate: 24000 } as const,
      { type: "audio/pcmu" } as const,
      { type: "audio/pcma" } as const,
    ]);
  }
  if (rng.next() < 0.6) {
    update.turnDetection = rng.next() < 0.5 ? null : {
      type: "server_vad",
      silence_duration_ms: rng.pick([1, 80, 240, 500, 60_000]),
      threshold: 0.5,
      prefix_padding_ms: 300,
    };
  }
  if (rng.next() < 0.3) {
    update.transcription = { model: "whisper-1", language: rng.pick(["en", null]), prompt: "" };
  }
  return { type: "session.update", event_id: `u${rng.int(1000)}`, session: update };
}

/** The JSON a client would send for an event, to go through the parser (mutated or not). */
function asText(rng: Rng, event: ClientEvent): string {
  const json: Record<string, unknown> = { type: event.type, event_id: event.event_id };
  if (event.type === "input_audio_buffer.append") json.audio = b64(event.audio);
  if (event.type === "session.update") {
    const s = event.session;
    json.session = {
      type: "transcription",
      audio: {
        input: {
          ...(s.format ? { format: s.format } : {}),
          ...(s.turnDetection !== undefined ? { turn_detection: s.turnDetection } : {}),
          ...(s.transcription ? { transcription: s.transcription } : {}),
        },
      },
    };
  }
  const text = JSON.stringify(json);
  return rng.next() < 0.5 ? text : mutateJson(rng, text);
}

function makeCase(rng: Rng): Case {
  const ops: Op[] = [];
  for (let n = 1 + rng.int(60); n > 0; n--) {
    const r = rng.int(100);
    let event: ClientEvent | null = null;
    if (r < 35) {
      // Up to 0.2 s of 24 kHz PCM16; odd sizes; now and then seconds at once.
      const size = rng.int(15) === 0 ? 48_000 + rng.int(100_000) : rng.int(9600);
      event = { type: "input_audio_buffer.append", audio: randomBytes(rng, size) };
    } else if (r < 45) event = { type: "input_audio_buffer.commit", event_id: "c" };
    else if (r < 50) event = { type: "input_audio_buffer.clear" };
    else if (r < 57) event = sessionUpdate(rng);
    else if (r < 75) ops.push({ op: "take" });
    else if (r < 97) ops.push({ op: "complete" });
    else if (r < 98) ops.push({ op: "fail" });
    else ops.push({ op: "finish" });
    if (event) {
      ops.push(
        rng.next() < 0.2 ? { op: "text", text: asText(rng, event) } : { op: "event", event },
      );
    }
  }
  return { vad: rng.next() < 0.5, maxBacklogFrames: rng.pick([300, 1000, 3000]), ops };
}

const show = (c: Case) =>
  JSON.stringify({
    ...c,
    ops: c.ops.map((o) =>
      o.op === "event"
        ? o.event.type === "input_audio_buffer.append"
          ? `append:${o.event.audio.length}`
          : o.event.type === "session.update"
          ? `update:${JSON.stringify(o.event.session)}`
          : o.event.type
        : o.op === "text"
        ? `text:${o.text.slice(0, 60)}`
        : o.op
    ),
  });

/** What the test knows of one item from the events it saw. */
interface Item {
  committed: boolean;
  done: "completed" | "failed" | null;
  deltas: string;
  /** Its buffer was cleared before it was committed. */
  dead: boolean;
  stopped: boolean;
}

/** An item first heard of: nothing yet committed, decoded, cleared or stopped. */
const newItem = (): Item => ({
  committed: false,
  done: null,
  deltas: "",
  dead: false,
  stopped: false,
});

interface Turn {
  /** Still receiving audio: not committed. */
  open: boolean;
  /** Turn detection when it opened. */
  vad: boolean;
  /** The item `speech_started` announced for it. */
  speech: string | null;
  /** Milliseconds of input audio appended. */
  ms: number;
}

/** What the cases reached, so a change that starves a path is noticed. */
const reached = new Map<string, number>();

function runCase(c: Case, rng: Rng): void {
  const events: ServerEvent[] = [];
  let closed = false;
  const stream = new StreamSession(
    1,
    {
      geometry: { chunkFrames: 8, leftFrames: 8, rightFrames: 8, subsampling: 8 },
      extractor: EXTRACTOR,
      spec: SPEC,
      vocab: VOCAB,
      maxBacklogFrames: c.maxBacklogFrames,
    },
    (m: ServerMessage) => {
      if (closed) return;
      realtime.streamMessage(m);
      // Each final ends the oldest buffer.
      if (m.type === "final") assert.ok(turns.shift(), "a final with no buffer pending");
    },
  );
  const realtime = new RealtimeSession(stream, {
    send: (e) => {
      events.push(e);
      const id = e.item_id as string;
      // Speech events are about the oldest buffer.
      if (e.type === "input_audio_buffer.speech_started") {
        assert.ok(turns.length > 0, "speech_started with no buffer");
        assert.ok(turns[0].vad, "speech events only under server VAD");
        turns[0].speech = id;
        itemTurn.set(id, turns[0]);
      }
      // A manual commit names the buffer it ends.
      if (e.type === "input_audio_buffer.committed" && !itemTurn.has(id)) {
        const open = openTurn();
        assert.ok(open && !open.vad, "a commit of the open manual buffer");
        itemTurn.set(id, open);
      }
      // Transcripts come in the order of the audio: each one is the oldest buffer's.
      if (e.type === "conversation.item.input_audio_transcription.completed") {
        assert.equal(itemTurn.get(id), turns[0], "completed in the order of the audio");
      }
    },
    model: "parakeet-test",
    ...(c.vad ? {} : { turnDetection: null }),
    maxBacklogFrames: c.maxBacklogFrames,
    secondsPerFrame: SECONDS_PER_FRAME,
    ids: new EventIds("fz"),
  });
  /** The buffers the session holds, as the client's events and the finals say: oldest first. */
  const turns: Turn[] = [];
  let vadNow = c.vad;
  let formatNow = "audio/pcm";
  const bytesPerMs = () => formatNow === "audio/pcm" ? 48 : 8;
  const openTurn = () =>
    turns.length > 0 && turns[turns.length - 1].open ? turns[turns.length - 1] : null;
  /** The open buffer is dropped: an item its speech started is never heard of again. */
  const dropOpen = () => {
    const open = openTurn();
    if (!open) return;
    turns.pop();
    if (open.speech !== null) items.get(open.speech)!.dead = true;
  };
  const items = new Map<string, Item>();
  const eventIds = new Set<string>();
  let lastCommitted: string | null = null;
  /** The buffer each item is about. */
  const itemTurn = new Map<string, Turn>();
  let held: SessionWork[] = [];

  const item = (id: unknown): Item => {
    assert.equal(typeof id, "string");
    const found = items.get(id as string);
    assert.ok(found, `an event about an unknown item ${id}`);
    assert.ok(!found.dead, `an event about item ${id}, whose buffer was cleared`);
    return found;
  };
  /** Events already checked. */
  let checked = 0;
  /** Checks the events sent since the last check. */
  const check = () => {
    const out = events.slice(checked);
    checked = events.length;
    if (closed) assert.deepEqual(out, [], "nothing after the session ended");
    for (const e of out) {
      const parsed = JSON.parse(JSON.stringify(e));
      const what = parsed.type === "error" ? parsed.error.code : parsed.type;
      reached.set(what, (reached.get(what) ?? 0) + 1);
      assert.ok(EVENT_TYPES.has(parsed.type), parsed.type);
      assert.equal(typeof parsed.event_id, "string");
      assert.ok(!eventIds.has(parsed.event_id), "event ids are fresh");
      eventIds.add(parsed.event_id);
      switch (parsed.type) {
        case "error":
          assert.equal(typeof parsed.error.code, "string");
          assert.equal(typeof parsed.error.message, "string");
          assert.ok(parsed.error.message.length <= 400, parsed.error.message.slice(0, 100));
          break;
        case "input_audio_buffer.speech_started":
          assert.ok(!items.has(parsed.item_id));
          items.set(parsed.item_id, newItem());
          break;
        case "input_audio_buffer.speech_stopped": {
          const it = item(parsed.item_id);
          assert.ok(!it.stopped && !it.committed);
          it.stopped = true;
          break;
        }
        case "input_audio_buffer.committed": {
          if (!items.has(parsed.item_id)) {
            items.set(parsed.item_id, newItem());
          }
          const it = item(parsed.item_id);
          assert.ok(!it.committed, "committed once");
          assert.equal(parsed.previous_item_id, lastCommitted);
          it.committed = true;
          lastCommitted = parsed.item_id;
          break;
        }
        case "conversation.item.input_audio_transcription.delta": {
          const it = item(parsed.item_id);
          assert.ok(it.committed && it.done === null, "deltas between commit and completion");
          assert.equal(typeof parsed.delta, "string");
          assert.ok(parsed.delta.length > 0);
          it.deltas += parsed.delta;
          break;
        }
        case "conversation.item.input_audio_transcription.completed": {
          const it = item(parsed.item_id);
          assert.ok(it.committed && it.done === null, "completed once, after the commit");
          it.done = "completed";
          assert.equal(it.deltas, parsed.transcript, "the deltas add up to the transcript");
          assert.ok(Number.isFinite(parsed.usage.seconds) && parsed.usage.seconds >= 0);
          break;
        }
        case "conversation.item.input_audio_transcription.failed": {
          const it = item(parsed.item_id);
          assert.equal(it.done, null);
          it.done = "failed";
          break;
        }
        case "session.updated":
          vadNow = parsed.session.audio.input.turn_detection !== null;
          formatNow = parsed.session.audio.input.format.type;
          break;
      }
    }
  };

  const apply = (event: ClientEvent) => {
    const from = events.length;
    if (event.type === "input_audio_buffer.append" && event.audio.length > 0 && !openTurn()) {
      turns.push({ open: true, vad: vadNow, speech: null, ms: 0 });
    }
    if (event.type === "input_audio_buffer.append") {
      const open = openTurn();
      if (open) open.ms += event.audio.length / bytesPerMs();
    }
    if (event.type === "input_audio_buffer.clear") dropOpen();
    const open = openTurn();
    const fatal = realtime.receive(event);
    if (event.type === "input_audio_buffer.commit") {
      const empty = events.slice(from).some((e) =>
        e.type === "error" &&
        (e.error as { code: string }).code === "input_audio_buffer_commit_empty"
      );
      // Less than 100 ms cannot be committed (a hair's breadth either side is left alone).
      if (open === null || Math.abs(open.ms - 100) > 1e-6) {
        assert.equal(empty, open === null || open.ms < 100, `commit of ${open?.ms} ms`);
      }
      if (!empty) open!.open = false;
    }
    if (fatal) {
      assert.equal(event.type, "input_audio_buffer.append");
      assert.equal(fatal.error.code, "rate_exceeded");
      assert.ok(stream.backlogFrames > c.maxBacklogFrames);
      realtime.refuse(fatal.error);
      return true;
    }
    if (event.type === "input_audio_buffer.append") {
      assert.ok(stream.backlogFrames <= c.maxBacklogFrames, "accepted audio within the cap");
    }
    return false;
  };
  const complete = (w: SessionWork) => {
    const steps = w.work.steps;
    const frames = Math.max(
      1,
      Math.ceil((steps[steps.length - 1].chunkEnd - steps[0].chunkStart) / 8),
    );
    const n = rng.int(5);
    const at = Array.from({ length: n }, () => rng.int(frames)).sort((a, b) => a - b);
    stream.completeWork(w, {
      tokens: at.map(() => rng.int(8)),
      frames: at,
      durations: at.map(() => rng.pick(SPEC.durations)),
      state: initialTdtState(SPEC),
    });
  };
  /** Before the end: a server-VAD buffer is flushed as a commit would, a manual one dropped. */
  const finish = () => {
    const open = openTurn();
    if (open?.vad) open.open = false;
    else dropOpen();
    realtime.finishBuffered();
  };
  const end = () => {
    stream.close();
    closed = true;
  };

  realtime.start();
  check();
  for (const op of c.ops) {
    if (closed) break;
    switch (op.op) {
      case "event":
        if (apply(op.event)) {
          check();
          end();
        }
        break;
      case "text": {
        const parsed = parseClientEvent(op.text, LIMITS);
        if (!parsed.ok) {
          assert.ok(parsed.error.message.length <= 400);
          realtime.refuse(parsed.error);
        } else if (apply(parsed.event)) {
          check();
          end();
        }
        break;
      }
      case "take": {
        const w = stream.takeWork(1 + rng.int(4));
        if (w) held.push(w);
        break;
      }
      case "complete":
        if (held.length > 0) complete(held.splice(rng.int(held.length), 1)[0]);
        break;
      case "fail": {
        if (held.length === 0) break;
        const w = held.splice(rng.int(held.length), 1)[0];
        const failed: string[] = [];
        stream.onBatchFailed = (e) => failed.push(e.message);
        stream.failWork(w, new Error("scripted failure"));
        assert.equal(failed.length, 1);
        const fatal = realtime.streamFailed(failed[0]);
        realtime.refuse(fatal.error);
        check();
        for (const it of items.values()) {
          if (it.committed && !it.dead) assert.notEqual(it.done, null, "each pending item failed");
        }
        end();
        break;
      }
      case "finish":
        finish();
        break;
    }
    check();
  }
  if (closed) return;

  // The client goes quiet: what was heard is transcribed, every committed item completes.
  for (const w of held) complete(w);
  held = [];
  finish();
  check();
  for (let guard = 0; stream.pending; guard++) {
    assert.ok(guard < 10_000, "the stream drains");
    const w = stream.takeWork(4);
    assert.ok(w, "pending work is ready");
    complete(w);
    check();
  }
  for (const [id, it] of items) {
    if (it.dead) continue;
    // An item announced by speech_started is committed once its buffer ends.
    assert.ok(it.committed, `item ${id} committed`);
    assert.equal(it.done, "completed", `item ${id} completed`);
  }
  assert.equal(stream.backlogFrames, 0);
  end();
}

Deno.test("fuzz: a realtime session fed any sequence of appends, commits, clears and updates", async () => {
  await fuzzStructured({ seed: 0x5254534e, cases: 500, make: makeCase, show }, runCase);
  for (
    const what of [
      "input_audio_buffer.committed",
      "input_audio_buffer.speech_started",
      "conversation.item.input_audio_transcription.delta",
      "conversation.item.input_audio_transcription.completed",
      "conversation.item.input_audio_transcription.failed",
      "input_audio_buffer.cleared",
      "input_audio_buffer_commit_empty",
      "rate_exceeded",
      "invalid_value",
    ]
  ) {
    assert.ok((reached.get(what) ?? 0) >= 5, `${what}: ${JSON.stringify([...reached])}`);
  }
});
