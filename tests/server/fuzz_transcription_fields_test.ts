/**
 * Fuzz of the form fields of `POST /v1/audio/transcriptions` other than the file: `model`,
 * `language`, `response_format`, `stream`, `timestamp_granularities[]`, `temperature`,
 * `prompt`, unknown and repeated fields, huge values. Forms built in memory go to the real
 * handler with a file that is not audio, so a form whose fields are accepted is answered 415
 * `unsupported_format` by the decoder without running anything, and every other answer is the
 * field's named 400 (OpenAI's error JSON): never an exception, never a long echo.
 */
import assert from "node:assert/strict";
import { uploadDecodeLimits } from "../../src/audio/decode_limits.ts";
import { TRANSCRIPT_FORMATS } from "../../src/format/transcript_formats.ts";
import {
  handleTranscription,
  type TranscriptionDeps,
} from "../../src/server/transcription_route.ts";
import { fuzzStructured } from "../fuzz/json_mutator.ts";
import { mutate, type Rng } from "../fuzz/mutator.ts";

const BOUNDARY = "fuzzBoundary7MA4YWxkTrZu0gW";
/** Most characters of one field a refusal may repeat. */
const MAX_ECHO = 64;

const DEPS: TranscriptionDeps = {
  servedModel: "parakeet-test",
  maxUploadBytes: 8 << 20,
  limits: uploadDecodeLimits(60, 5),
  openSession: () => {
    throw new Error("no session is opened for a file that is not audio");
  },
  closeSession: () => {},
  wake: () => {},
};

const FIELDS: Record<string, readonly string[]> = {
  model: ["whisper-1", "gpt-4o-transcribe", "parakeet-tdt-0.6b-v3"],
  language: ["en", "de", "fra", "", "EN", "en-US", "english"],
  response_format: [...TRANSCRIPT_FORMATS, "mp3", "JSON", ""],
  stream: ["true", "false", "True", "1", ""],
  "timestamp_granularities[]": ["word", "segment", "char", ""],
  temperature: ["0", "0.2", "1", "-1", "NaN", "1e309"],
  prompt: ["Hello.", "", "a".repeat(300)],
  chunking_strategy: ["auto", '{"type":"server_vad"}'],
  include: ["logprobs"],
};
const UNKNOWN = ["x", "", "file", "__proto__", "language[]", "Response_Format", "k".repeat(300)];

/** A value near the field's valid ones, or an edge: huge, foreign, mutated, control characters. */
function fieldValue(rng: Rng, valid: readonly string[]): string {
  switch (rng.int(10)) {
    case 0:
    case 1:
    case 2:
      return rng.pick(valid);
    case 3:
      return rng.pick(["", " ", "0", "-0", "NaN", "null", "true", "[]", "{}", "\u0000", "\ud800"]);
    case 4:
      return rng.pick(["é", "😀", "\u2028", "ab\u0000", "en\t", " en", "zzz", "ÿ", "%41"]);
    case 5:
      return "x".repeat(1 + rng.int(200_000));
    case 6:
      return "é😀".repeat(1 + rng.int(20_000));
    case 7:
      return rng.pick(valid).toUpperCase();
    case 8:
      return new TextDecoder().decode(mutate(rng, new TextEncoder().encode(rng.pick(valid))));
    default:
      return rng.pick(valid) + rng.pick(["\r", "\n", "\r\n", ";", '"', "--"]);
  }
}

interface Form {
  fields: [name: string, value: string][];
  file: boolean;
}

function makeForm(rng: Rng): Form {
  const fields: [string, string][] = [];
  const names = Object.keys(FIELDS);
  for (let n = rng.int(8); n > 0; n--) {
    const name = rng.next() < 0.85 ? rng.pick(names) : rng.pick(UNKNOWN);
    fields.push([name, fieldValue(rng, FIELDS[name] ?? ["1"])]);
  }
  // Streamed transcripts of each format, first in the form (the first of a field counts).
  if (rng.next() < 0.25) {
    fields.unshift(["stream", "true"], ["response_format", rng.pick(TRANSCRIPT_FORMATS)]);
  }
  return { fields, file: rng.next() < 0.95 };
}

const encoder = new TextEncoder();

function body(form: Form): Uint8Array<ArrayBuffer> {
  const parts: string[] = [];
  for (const [name, value] of form.fields) {
    parts.push(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="${name}"\r\n\r\n${value}\r\n`,
    );
  }
  if (form.file) {
    parts.push(
      `--${BOUNDARY}\r\nContent-Disposition: form-data; name="file"; filename="a.wav"\r\n` +
        "Content-Type: audio/wav\r\n\r\nplain text, not audio\r\n",
    );
  }
  parts.push(`--${BOUNDARY}--\r\n`);
  return encoder.encode(parts.join(""));
}

/** The first value of each field as the server reads it (UTF-8, lone surrogates replaced). */
function firstValues(form: Form): Map<string, string> {
  const out = new Map<string, string>();
  for (const [name, value] of form.fields) {
    if (!out.has(name)) out.set(name, new TextDecoder().decode(encoder.encode(value)));
  }
  return out;
}

/** The documented answer: the first failing rule's status and code, or the decoder's 415. */
function expected(form: Form): [number, string] {
  if (!form.file) return [400, "missing_file"];
  const first = firstValues(form);
  const language = first.get("language");
  if (language !== undefined && language !== "" && !/^[a-z]{2,3}$/.test(language)) {
    return [400, "invalid_value"];
  }
  const format = first.get("response_format") ?? "json";
  if (!(TRANSCRIPT_FORMATS as readonly string[]).includes(format)) {
    return [400, "invalid_response_format"];
  }
  if (first.get("stream") === "true" && format !== "json" && format !== "text") {
    return [400, "unsupported_value"];
  }
  return [415, "unsupported_format"];
}

Deno.test("fuzz: transcription form fields get their named 400, or are accepted for decoding", async () => {
  const seen = new Map<string, number>();
  await fuzzStructured<Form>({
    seed: 0x464f524d,
    cases: 3000,
    make: makeForm,
    show: (f) => JSON.stringify(f.fields.map(([n, v]) => [n, v.slice(0, 80)])),
  }, async (form) => {
    const req = new Request("http://127.0.0.1:8000/v1/audio/transcriptions", {
      method: "POST",
      headers: { "content-type": `multipart/form-data; boundary=${BOUNDARY}` },
      body: body(form),
    });
    let released = 0;
    const res = await handleTranscription(req, DEPS, () => released++);
    assert.equal(released, 1, "the upload slot is released once");
    const text = await res.text();
    const [status, code] = expected(form);
    assert.equal(res.status, status, text.slice(0, 300));
    const error = JSON.parse(text).error;
    assert.equal(error.code, code);
    assert.equal(error.type, "invalid_request_error");
    seen.set(code, (seen.get(code) ?? 0) + 1);
    assert.ok(error.message.length <= 400, `${code}: ${error.message.length} chars`);
    for (const [, value] of form.fields) {
      if (value.length > MAX_ECHO) {
        assert.ok(!text.includes(JSON.stringify(value.slice(0, MAX_ECHO + 1)).slice(1, -1)));
      }
    }
  });
  for (
    const code of [
      "unsupported_format",
      "invalid_value",
      "invalid_response_format",
      "unsupported_value",
      "missing_file",
    ]
  ) {
    assert.ok((seen.get(code) ?? 0) >= 10, `${code}: ${JSON.stringify([...seen])}`);
  }
});
