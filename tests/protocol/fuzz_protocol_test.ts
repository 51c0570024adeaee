/**
 * Fuzzing the /ws stream's client frames: binary and text, mutated as bytes and (the JSON
 * control messages) as structure. parseClientFrame promises never to throw; every frame is a
 * message or a violation with a wire error code: message_too_large (close 1009) exactly when a
 * frame is over its limit (text in UTF-8 bytes), else invalid_message (the stream goes on) for
 * text that is no control message. Binary frames within the limit are audio, passed on without
 * a copy, unless they are exactly a control frame.
 */
import assert from "node:assert/strict";
import {
  CTRL_EOS,
  CTRL_RESET,
  type FrameLimits,
  parseClientFrame,
  type ParseResult,
} from "../../src/protocol/protocol.ts";
import { closeCodeFor, WIRE_ERRORS } from "../../src/protocol/wire_errors.ts";
import { concat, fuzz, randomBytes, seededRng } from "../fuzz/mutator.ts";
import { fuzzStructured, mutateJson } from "../fuzz/json_mutator.ts";

const SMALL: FrameLimits = { maxBinaryBytes: 1024, maxTextBytes: 64 };
/** Room for long strings and deep nesting to reach the JSON parser. */
const WIDE: FrameLimits = { maxBinaryBytes: 1 << 20, maxTextBytes: 1 << 20 };

const enc = new TextEncoder();
const TEXTS = [
  CTRL_EOS,
  CTRL_RESET,
  '{"type":"eos"}',
  '{"type":"reset"}',
  '{"type":"keepalive"}',
  '{"type":"keepalive","id":7,"extra":{"a":[1,2]}}',
];

function checkError(r: ParseResult): asserts r is Extract<ParseResult, { ok: false }> {
  assert.ok(!r.ok);
  assert.ok(r.error.code in WIRE_ERRORS, r.error.code);
  assert.ok(r.error.code === "message_too_large" || r.error.code === "invalid_message");
  assert.equal(closeCodeFor(r.error.code), r.error.code === "message_too_large" ? 1009 : null);
  assert.equal(typeof r.error.message, "string");
  // A preview of 60 characters at most is quoted, however long the frame.
  assert.ok(r.error.message.length <= 600, `${r.error.message.length} chars`);
}

function checkText(text: string, limits: FrameLimits, tally?: Map<string, number>): void {
  const r = parseClientFrame(text, limits);
  const key = r.ok ? r.message.kind : r.error.code;
  tally?.set(key, (tally.get(key) ?? 0) + 1);
  if (enc.encode(text).length > limits.maxTextBytes) {
    checkError(r);
    assert.equal(r.error.code, "message_too_large");
    return;
  }
  let expected: string | null = text === CTRL_EOS ? "eos" : text === CTRL_RESET ? "reset" : null;
  if (expected === null) {
    try {
      const v = JSON.parse(text);
      const type = typeof v === "object" && v !== null && !Array.isArray(v) ? v.type : undefined;
      if (type === "eos" || type === "reset" || type === "keepalive") expected = type;
    } catch {
      // not JSON
    }
  }
  if (expected === null) {
    checkError(r);
    assert.equal(r.error.code, "invalid_message");
    assert.match(r.error.message, /^Cannot understand /);
    return;
  }
  assert.ok(r.ok, `refused a ${expected}`);
  assert.deepEqual(r.message, { kind: expected });
}

function checkBinary(bytes: Uint8Array, limits: FrameLimits, asBuffer: boolean): void {
  const r = parseClientFrame(asBuffer ? bytes.slice().buffer : bytes, limits);
  if (bytes.length > limits.maxBinaryBytes) {
    checkError(r);
    assert.equal(r.error.code, "message_too_large");
    assert.ok(r.error.message.includes(`size ${bytes.length} bytes`), r.error.message);
    return;
  }
  assert.ok(r.ok);
  const text = new TextDecoder().decode(bytes);
  const control = text === CTRL_EOS && bytes.length === CTRL_EOS.length
    ? "eos"
    : text === CTRL_RESET && bytes.length === CTRL_RESET.length
    ? "reset"
    : null;
  if (control !== null) {
    assert.deepEqual(r.message, { kind: control });
    return;
  }
  assert.equal(r.message.kind, "audio");
  if (r.message.kind !== "audio") return;
  assert.deepEqual(r.message.bytes, bytes);
  // Passed on as it came: no copy of the client's bytes.
  if (!asBuffer) assert.equal(r.message.bytes, bytes);
}

Deno.test("fuzz protocol: byte mutations of text control frames", async () => {
  const tally = new Map<string, number>();
  const dec = new TextDecoder();
  await fuzz(
    { seed: 0x9a0, corpus: TEXTS.map((t) => enc.encode(t)), cases: 20_000, randomCases: 2000 },
    (input) => {
      const text = dec.decode(input);
      checkText(text, SMALL, tally);
      checkText(text, WIDE);
    },
  );
  for (const key of ["eos", "reset", "keepalive", "invalid_message", "message_too_large"]) {
    assert.ok(tally.has(key), `${key}: never`);
  }
});

Deno.test("fuzz protocol: JSON-structure mutations of control messages", async () => {
  const tally = new Map<string, number>();
  const json = TEXTS.filter((t) => t.startsWith("{"));
  await fuzzStructured({
    seed: 0x9a1,
    cases: 12_000,
    make: (rng) => mutateJson(rng, rng.pick(json)),
  }, (text) => {
    checkText(text, SMALL, tally);
    checkText(text, WIDE);
  });
  for (const key of ["eos", "reset", "keepalive", "invalid_message", "message_too_large"]) {
    assert.ok(tally.has(key), `${key}: never`);
  }
});

Deno.test("fuzz protocol: byte mutations of binary frames, as views and as buffers", async () => {
  const rng0 = seededRng(9);
  const corpus = [
    enc.encode(CTRL_EOS),
    enc.encode(CTRL_RESET),
    randomBytes(rng0, 640),
    new Uint8Array(1024),
    new Uint8Array(0),
    concat(enc.encode(CTRL_EOS), new Uint8Array(1)),
  ];
  await fuzz({ seed: 0x9a2, corpus, cases: 20_000, randomCases: 1000 }, (input, rng) => {
    // A view into a larger buffer, as a WebSocket layer may hand over.
    const at = rng.int(5);
    const view = concat(new Uint8Array(at), input, new Uint8Array(rng.int(5)))
      .subarray(at, at + input.length);
    checkBinary(view, SMALL, false);
    checkBinary(view, SMALL, true);
    checkBinary(view, WIDE, false);
  });
});
