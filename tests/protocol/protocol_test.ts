import assert from "node:assert/strict";
import { encodeServerMessage, parseClientFrame } from "../../src/protocol/protocol.ts";
import { closeCodeFor } from "../../src/protocol/wire_errors.ts";

const LIMITS = { maxBinaryBytes: 1024, maxTextBytes: 64 };
const bytes = (s: string) => new TextEncoder().encode(s);

Deno.test("parseClientFrame reads control frames sent as binary or text", () => {
  for (const frame of ["__CTRL__:EOS", bytes("__CTRL__:EOS"), bytes("__CTRL__:EOS").buffer]) {
    assert.deepEqual(parseClientFrame(frame, LIMITS), { ok: true, message: { kind: "eos" } });
  }
  for (const frame of ["__CTRL__:RESET", bytes("__CTRL__:RESET")]) {
    assert.deepEqual(parseClientFrame(frame, LIMITS), { ok: true, message: { kind: "reset" } });
  }
});

Deno.test("parseClientFrame reads JSON control messages as an extension", () => {
  assert.deepEqual(parseClientFrame('{"type":"eos"}', LIMITS), {
    ok: true,
    message: { kind: "eos" },
  });
  assert.deepEqual(parseClientFrame('{"type":"keepalive"}', LIMITS), {
    ok: true,
    message: { kind: "keepalive" },
  });
});

Deno.test("parseClientFrame passes any other binary frame on as audio, empty and odd ones too", () => {
  for (const n of [0, 1, 3, 640, 1024]) {
    const r = parseClientFrame(new Uint8Array(n), LIMITS);
    assert.ok(r.ok && r.message.kind === "audio" && r.message.bytes.length === n);
  }
  // A near-miss of a control frame is audio, not an error.
  const r = parseClientFrame(bytes("__CTRL__:EOS "), LIMITS);
  assert.ok(r.ok && r.message.kind === "audio");
});

Deno.test("parseClientFrame answers an oversized binary frame with message_too_large → 1009", () => {
  const r = parseClientFrame(new Uint8Array(1025), LIMITS);
  assert.deepEqual(r, {
    ok: false,
    error: {
      code: "message_too_large",
      message: "Cannot accept audio frame: size 1025 bytes exceeds the limit of 1024",
    },
  });
  assert.equal(closeCodeFor("message_too_large"), 1009);
});

Deno.test("parseClientFrame answers an oversized text frame with message_too_large", () => {
  const r = parseClientFrame("x".repeat(65), LIMITS);
  assert.ok(!r.ok && r.error.code === "message_too_large");
  // 22 three-byte characters are 66 bytes though only 22 UTF-16 units.
  const r2 = parseClientFrame("€".repeat(22), LIMITS);
  assert.ok(!r2.ok && r2.error.code === "message_too_large");
});

Deno.test("parseClientFrame answers malformed text with invalid_message and keeps the stream", () => {
  const corpus = [
    "hello",
    "__CTRL__:eos",
    "__CTRL__:EOS\n",
    "{",
    "[]",
    "null",
    "42",
    '{"type":"start"}',
    '{"type":5}',
    '{"kind":"eos"}',
    "",
  ];
  for (const text of corpus) {
    const r = parseClientFrame(text, LIMITS);
    assert.ok(!r.ok, text);
    assert.equal(r.error.code, "invalid_message", text);
    assert.match(r.error.message, /Cannot understand/);
  }
  assert.equal(closeCodeFor("invalid_message"), null);
});

Deno.test("encodeServerMessage writes the seed's message shapes", () => {
  assert.equal(
    encodeServerMessage({ type: "partial", text: "a b" }),
    '{"type":"partial","text":"a b"}',
  );
  assert.equal(encodeServerMessage({ type: "final", text: "" }), '{"type":"final","text":""}');
});
