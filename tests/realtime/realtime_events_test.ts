import assert from "node:assert/strict";
import {
  decodeBase64,
  type EventLimits,
  parseClientEvent,
} from "../../src/realtime/realtime_events.ts";

const LIMITS: EventLimits = { maxEventBytes: 4096, maxAppendBytes: 300 };
const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));

function parse(event: unknown, limits = LIMITS) {
  return parseClientEvent(typeof event === "string" ? event : JSON.stringify(event), limits);
}

function errorOf(event: unknown, limits = LIMITS) {
  const r = parse(event, limits);
  assert.ok(!r.ok, `expected an error for ${JSON.stringify(event)}`);
  return r.error;
}

Deno.test("append: base64 audio is decoded; event_id is kept", () => {
  const r = parse({ type: "input_audio_buffer.append", event_id: "e1", audio: b64([1, 2, 255]) });
  assert.ok(r.ok);
  assert.deepEqual(r.event, {
    type: "input_audio_buffer.append",
    event_id: "e1",
    audio: new Uint8Array([1, 2, 255]),
  });
});

Deno.test("append: audio over the cap is refused on its base64 length, before decoding", () => {
  const e = errorOf({ type: "input_audio_buffer.append", audio: "A".repeat(404), event_id: "x" });
  assert.equal(e.code, "audio_too_large");
  assert.equal(e.param, "audio");
  assert.equal(e.event_id, "x");
  assert.equal(e.type, "invalid_request_error");
  // Exactly at the cap is accepted.
  assert.ok(parse({ type: "input_audio_buffer.append", audio: b64(new Array(300).fill(7)) }).ok);
});

Deno.test("append: missing or malformed audio is an error in OpenAI's shape", () => {
  assert.equal(errorOf({ type: "input_audio_buffer.append" }).code, "missing_required_parameter");
  const bad = errorOf({ type: "input_audio_buffer.append", audio: "not base64!" });
  assert.deepEqual(bad, {
    type: "invalid_request_error",
    code: "invalid_value",
    message: "audio must be base64-encoded",
    param: "audio",
    event_id: null,
  });
});

Deno.test("commit and clear parse; unknown and missing types are named", () => {
  assert.deepEqual(parse({ type: "input_audio_buffer.commit" }), {
    ok: true,
    event: { type: "input_audio_buffer.commit" },
  });
  assert.ok(parse({ type: "input_audio_buffer.clear", event_id: "c" }).ok);
  const unknown = errorOf({ type: "response.create", event_id: "r" });
  assert.equal(unknown.code, "invalid_value");
  assert.equal(unknown.param, "type");
  assert.equal(unknown.event_id, "r");
  assert.match(unknown.message, /'input_audio_buffer\.append'/);
  assert.equal(errorOf({ audio: "" }).code, "missing_required_parameter");
  assert.equal(errorOf({ type: "input_audio_buffer.commit", event_id: 5 }).param, "event_id");
});

Deno.test("text that is not a JSON object, or too large, is refused", () => {
  assert.equal(errorOf("{nope").code, "invalid_json");
  assert.equal(errorOf("[1]").code, "invalid_json");
  assert.equal(errorOf("null").code, "invalid_json");
  const big = errorOf({ type: "input_audio_buffer.commit", pad: "x".repeat(5000) });
  assert.equal(big.code, "message_too_large");
  // Measured in UTF-8 bytes, not characters.
  const wide = errorOf({ type: "input_audio_buffer.commit", pad: "é".repeat(2100) });
  assert.equal(wide.code, "message_too_large");
});

Deno.test("session.update: format, turn detection and transcription of a transcription session", () => {
  const r = parse({
    type: "session.update",
    session: {
      type: "transcription",
      audio: {
        input: {
          format: { type: "audio/pcm", rate: 24000 },
          turn_detection: null,
          transcription: { model: "gpt-4o-transcribe", language: "en" },
        },
      },
    },
  });
  assert.ok(r.ok);
  assert.deepEqual(r.event, {
    type: "session.update",
    session: {
      format: { type: "audio/pcm", rate: 24000 },
      turnDetection: null,
      transcription: { model: "gpt-4o-transcribe", language: "en" },
    },
  });
  const vad = parse({
    type: "session.update",
    session: {
      type: "transcription",
      audio: { input: { format: { type: "audio/pcmu" }, turn_detection: { type: "server_vad" } } },
    },
  });
  assert.ok(vad.ok && vad.event.type === "session.update");
  assert.deepEqual(vad.event.session, {
    format: { type: "audio/pcmu" },
    turnDetection: {
      type: "server_vad",
      silence_duration_ms: 500,
      threshold: 0.5,
      prefix_padding_ms: 300,
    },
  });
  // Nothing given: nothing changes.
  const empty = parse({ type: "session.update", session: { type: "transcription" } });
  assert.ok(empty.ok && empty.event.type === "session.update");
  assert.deepEqual(empty.event.session, {});
});

Deno.test("session.update: what this server cannot do is refused with the parameter named", () => {
  const update = (session: unknown) => errorOf({ type: "session.update", session });
  assert.equal(update({ type: "realtime" }).param, "session.type");
  assert.equal(update(undefined).param, "session");
  assert.equal(
    update({
      type: "transcription",
      audio: { input: { format: { type: "audio/pcm", rate: 16000 } } },
    })
      .param,
    "session.audio.input.format.rate",
  );
  assert.equal(
    update({ type: "transcription", audio: { input: { format: { type: "audio/opus" } } } }).param,
    "session.audio.input.format.type",
  );
  assert.equal(
    update({
      type: "transcription",
      audio: { input: { turn_detection: { type: "semantic_vad" } } },
    }).param,
    "session.audio.input.turn_detection.type",
  );
  assert.equal(
    update({
      type: "transcription",
      audio: { input: { turn_detection: { type: "server_vad", silence_duration_ms: 0 } } },
    }).param,
    "session.audio.input.turn_detection.silence_duration_ms",
  );
});

Deno.test("base64: padding optional, anything else refused", () => {
  assert.deepEqual(decodeBase64("AQI="), new Uint8Array([1, 2]));
  assert.deepEqual(decodeBase64("AQI"), new Uint8Array([1, 2]));
  assert.deepEqual(decodeBase64(""), new Uint8Array(0));
  assert.equal(decodeBase64("A"), null);
  assert.equal(decodeBase64("AQ-_"), null);
  assert.equal(decodeBase64("AQ==AQ=="), null);
});

Deno.test("a type, format or turn detection the client nests or gives a toString is refused, never thrown", () => {
  // Quoting these threw out of parseClientEvent (a TypeError from String() of the client's
  // "toString"; the stack overflowed on the nests), which ended the server process.
  const deep = "[".repeat(12_000) + "]".repeat(12_000);
  const nest = `{"0":0,"nest":${deep}}`;
  const session = (input: string) =>
    `{"type":"session.update","event_id":"e","session":{"type":"transcription","audio":{"input":${input}}}}`;
  for (
    const [text, param] of [
      ['{"type":{"toString":1},"event_id":"e"}', "type"],
      ['{"type":[{"toString":1}],"event_id":"e"}', "type"],
      [`{"type":${deep},"event_id":"e"}`, "type"],
      [session(`{"format":{"type":${nest}}}`), "session.audio.input.format.type"],
      [
        session(`{"format":{"type":"audio/pcm","rate":${nest}}}`),
        "session.audio.input.format.rate",
      ],
      [session(`{"turn_detection":{"type":${nest}}}`), "session.audio.input.turn_detection.type"],
    ]
  ) {
    const e = errorOf(text, { maxEventBytes: 1 << 20, maxAppendBytes: 300 });
    assert.deepEqual(
      [e.code, e.param, e.event_id],
      ["invalid_value", param, "e"],
      text.slice(0, 60),
    );
  }
  assert.match(errorOf('{"type":{"toString":1}}').message, /^Invalid value: "\{…\}"\. /);
  // Strings and numbers are quoted as before.
  assert.match(errorOf('{"type":5}').message, /^Invalid value: "5"\. /);
});

Deno.test("append: the cap holds to the byte when it is not a multiple of 3", () => {
  // 1000 bytes take 1336 base64 characters, as do 1001 and 1002: those were let through.
  const limits = { maxEventBytes: 4096, maxAppendBytes: 1000 };
  for (const n of [1001, 1002]) {
    const audio = b64(new Array(n).fill(7));
    assert.equal(audio.length, 1336);
    const e = errorOf({ type: "input_audio_buffer.append", audio }, limits);
    assert.equal(e.code, "audio_too_large", `${n} bytes`);
    assert.equal(
      errorOf({ type: "input_audio_buffer.append", audio: audio.replace(/=+$/, "") }, limits).code,
      "audio_too_large",
      `${n} bytes unpadded`,
    );
  }
  const at = parse(
    { type: "input_audio_buffer.append", audio: b64(new Array(1000).fill(7)) },
    limits,
  );
  assert.ok(
    at.ok && at.event.type === "input_audio_buffer.append" && at.event.audio.length === 1000,
  );
});
