/**
 * Fuzzing the Realtime client events: text frames mutated as bytes and as JSON structure. The
 * parser promises to never throw: every frame is an event or an `error` in OpenAI's shape.
 * Accepted events must hold what the protocol allows (an append within maxAppendBytes, a
 * format of the three, turn detection in range), errors must carry a known code and the
 * client's event_id, and a frame over maxEventBytes (in UTF-8) is always message_too_large.
 */
import assert from "node:assert/strict";
import {
  CLIENT_EVENT_TYPES,
  decodeBase64,
  type EventLimits,
  parseClientEvent,
} from "../../src/realtime/realtime_events.ts";
import { fuzz, randomBytes, type Rng, seededRng } from "../fuzz/mutator.ts";
import { fuzzStructured, mutateJson } from "../fuzz/json_mutator.ts";

/** An append cap that is not a multiple of 3, as the default (1 MiB) is not. */
const SMALL: EventLimits = { maxEventBytes: 8192, maxAppendBytes: 1000 };
/** Room for long strings and deep nesting to reach the parser. */
const WIDE: EventLimits = { maxEventBytes: 1 << 20, maxAppendBytes: 1000 };
const CODES = [
  "message_too_large",
  "invalid_json",
  "invalid_type",
  "missing_required_parameter",
  "audio_too_large",
  "invalid_value",
];
const FORMATS = ["audio/pcm", "audio/pcmu", "audio/pcma"];

const enc = new TextEncoder();
const b64 = (bytes: Uint8Array) => btoa(String.fromCharCode(...bytes));
const rng0 = seededRng(1);

const EVENTS: unknown[] = [
  ...[0, 1, 2, 3, 100, 999, 1000, 1001, 1002].map((n) => ({
    type: "input_audio_buffer.append",
    event_id: `ev_${n}`,
    audio: b64(randomBytes(rng0, n)),
  })),
  { type: "input_audio_buffer.append", audio: b64(randomBytes(rng0, 10)).replace(/=+$/, "") },
  { type: "input_audio_buffer.commit", event_id: "c1" },
  { type: "input_audio_buffer.clear" },
  {
    type: "session.update",
    event_id: "s1",
    session: {
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          turn_detection: {
            type: "server_vad",
            silence_duration_ms: 800,
            threshold: 0.4,
            prefix_padding_ms: 200,
          },
          transcription: { model: "gpt-4o-transcribe", language: "en", prompt: "names" },
        },
      },
    },
  },
  {
    type: "session.update",
    session: {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcmu" }, turn_detection: null } },
    },
  },
  {
    type: "session.update",
    session: {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcma" }, transcription: { language: null } } },
    },
  },
  { type: "session.update", session: { type: "transcription" } },
  { type: "response.create", event_id: "r1" },
];
const TEXTS = EVENTS.map((e) => JSON.stringify(e));
const SESSION_UPDATES = TEXTS.filter((t) => t.startsWith('{"type":"session.update"'));

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** Tally of outcomes: "ok <type>" or the error code. */
type Tally = Map<string, number>;

function check(text: string, limits: EventLimits, tally?: Tally): void {
  const r = parseClientEvent(text, limits);
  const key = r.ok ? `ok ${r.event.type}` : r.error.code;
  tally?.set(key, (tally.get(key) ?? 0) + 1);
  const tooLarge = enc.encode(text).length > limits.maxEventBytes;
  let json: unknown = undefined;
  if (!tooLarge) {
    try {
      json = JSON.parse(text);
    } catch {
      // not JSON: must be refused below
    }
  }
  if (!r.ok) {
    const e = r.error;
    assert.equal(e.type, "invalid_request_error");
    assert.ok(CODES.includes(e.code), e.code);
    assert.equal(e.code === "message_too_large", tooLarge, "message_too_large iff over the cap");
    assert.ok(typeof e.message === "string" && e.message.length > 0);
    // The message quotes what was sent, no more.
    assert.ok(e.message.length <= text.length + 300, `${e.message.length} chars`);
    assert.ok(e.param === null || typeof e.param === "string");
    const sentId = isObject(json) && typeof json.event_id === "string" ? json.event_id : null;
    assert.equal(e.event_id, sentId, "the client's event_id is echoed");
    return;
  }
  assert.ok(!tooLarge);
  assert.ok(isObject(json), "accepted text is a JSON object");
  const event = r.event;
  assert.ok((CLIENT_EVENT_TYPES as readonly string[]).includes(event.type));
  assert.equal(event.type, json.type);
  assert.equal(event.event_id, json.event_id);
  switch (event.type) {
    case "input_audio_buffer.append": {
      assert.ok(event.audio instanceof Uint8Array);
      assert.ok(
        event.audio.length <= limits.maxAppendBytes,
        `an append of ${event.audio.length} bytes accepted over the cap of ${limits.maxAppendBytes}`,
      );
      const reference = (Uint8Array as unknown as {
        fromBase64(s: string, o: { lastChunkHandling: string }): Uint8Array;
      }).fromBase64(json.audio as string, { lastChunkHandling: "loose" });
      assert.deepEqual(event.audio, reference);
      break;
    }
    case "input_audio_buffer.commit":
    case "input_audio_buffer.clear":
      assert.deepEqual(
        Object.keys(event).sort(),
        "event_id" in event ? ["event_id", "type"] : [
          "type",
        ],
      );
      break;
    case "session.update": {
      const { format, turnDetection, transcription } = event.session;
      if (format !== undefined) {
        assert.ok(FORMATS.includes(format.type), format.type);
        if (format.type === "audio/pcm") assert.equal(format.rate, 24000);
      }
      if (turnDetection !== undefined && turnDetection !== null) {
        assert.equal(turnDetection.type, "server_vad");
        const ms = turnDetection.silence_duration_ms;
        assert.ok(Number.isInteger(ms) && ms >= 1 && ms <= 60_000, `${ms}`);
        assert.equal(typeof turnDetection.threshold, "number");
        assert.equal(typeof turnDetection.prefix_padding_ms, "number");
      }
      if (transcription !== undefined) {
        const { model, language, prompt } = transcription;
        assert.ok(model === undefined || typeof model === "string");
        assert.ok(language === undefined || language === null || typeof language === "string");
        assert.ok(prompt === undefined || typeof prompt === "string");
      }
      break;
    }
  }
}

Deno.test("fuzz realtime events: byte mutations of valid client events", async () => {
  const tally: Tally = new Map();
  const dec = new TextDecoder();
  await fuzz(
    { seed: 0x4ea1, corpus: TEXTS.map((t) => enc.encode(t)), cases: 20_000, randomCases: 2000 },
    (input) => {
      // Text frames arrive as UTF-8 checked by the socket; any string must do here.
      const text = dec.decode(input);
      check(text, SMALL, tally);
      check(text, WIDE);
    },
  );
  for (const key of ["ok input_audio_buffer.append", "ok session.update", "invalid_json"]) {
    assert.ok(tally.has(key), `${key}: never`);
  }
});

Deno.test("fuzz realtime events: JSON-structure mutations of valid client events", async () => {
  const tally: Tally = new Map();
  await fuzzStructured({
    seed: 0x4ea2,
    cases: 12_000,
    // session.update half the time: most of the structure to mutate is in it.
    make: (rng: Rng) => mutateJson(rng, rng.pick(rng.next() < 0.5 ? TEXTS : SESSION_UPDATES)),
  }, (text) => {
    check(text, SMALL, tally);
    check(text, WIDE);
  });
  for (const key of [...CODES, ...CLIENT_EVENT_TYPES.map((t) => `ok ${t}`)]) {
    assert.ok(tally.has(key), `${key}: never`);
  }
});

Deno.test("fuzz realtime events: base64 of every length, cut and corrupted", async () => {
  const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  await fuzzStructured({
    seed: 0x4ea3,
    cases: 20_000,
    make: (rng: Rng) => {
      let s = b64(randomBytes(rng, rng.int(64)));
      switch (rng.int(5)) {
        case 0:
          return s;
        case 1:
          return s.replace(/=+$/, "");
        case 2: // a character of the alphabet, or not, somewhere
          s = s.split("").map((c) =>
            rng.int(20) === 0 ? rng.pick([...ALPHABET, "=", "-", "_", " ", "\n", "é", "\0"]) : c
          ).join("");
          return s;
        case 3:
          return s.slice(0, rng.int(s.length + 1));
        default:
          return s + "=".repeat(rng.int(4));
      }
    },
  }, (s) => {
    const bytes = decodeBase64(s);
    if (bytes === null) return;
    const unpadded = s.replace(/=+$/, "").length;
    assert.equal(bytes.length, Math.floor((unpadded * 3) / 4));
    const reference = (Uint8Array as unknown as {
      fromBase64(s: string, o: { lastChunkHandling: string }): Uint8Array;
    }).fromBase64(s, { lastChunkHandling: "loose" });
    assert.deepEqual(bytes, reference);
  });
});
