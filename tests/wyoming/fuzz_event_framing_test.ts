/**
 * Fuzzing the Wyoming reader with streams of events mutated as bytes and as JSON structure.
 * Every stream must read as events or end in one of the four framing errors; every event within
 * the caps; nothing allocated past a cap, whatever the lengths claim; the same results when the
 * bytes arrive cut anywhere (the reader promises it); and the same as a plain whole-buffer
 * reading of the format the module describes.
 */
import assert from "node:assert/strict";
import {
  encodeEvent,
  type FramingError,
  type FramingLimits,
  type ReadResult,
  WyomingEventReader,
} from "../../src/wyoming/event_framing.ts";
import { concat, fuzz, randomBytes, type Rng, seededRng } from "../fuzz/mutator.ts";
import { flatJsonText, fuzzStructured, mutateJson, toJsonText } from "../fuzz/json_mutator.ts";

const SMALL: FramingLimits = { maxHeaderBytes: 512, maxDataBytes: 256, maxPayloadBytes: 1024 };
/** Room for long strings and deep nesting to reach the JSON parser. */
const WIDE: FramingLimits = { maxHeaderBytes: 65_536, maxDataBytes: 65_536, maxPayloadBytes: 4096 };
const CODES = ["header_too_large", "data_too_large", "payload_too_large", "bad_event"];
/** The shortest event: `{"type":"x"}` and its newline. */
const SHORTEST_EVENT = 13;

const enc = new TextEncoder();
const FORMAT = { rate: 16000, width: 2, channels: 1 };

/** Valid events, one by one, as the package and older writers send them. */
const EVENTS: Uint8Array[] = [
  encodeEvent("describe"),
  encodeEvent("transcribe", { language: "en", name: "parakeet" }),
  encodeEvent("audio-start", { ...FORMAT, timestamp: 0 }),
  encodeEvent("audio-chunk", { ...FORMAT, timestamp: 10 }, randomBytes(seededRng(1), 320)),
  encodeEvent("audio-chunk", { rate: 22050, width: 4, channels: 2 }, new Uint8Array(100).fill(10)),
  encodeEvent("audio-stop", { timestamp: 1234 }),
  encodeEvent("ping", { text: "héllo" }),
  // Just under the SMALL caps: a header line of 505 bytes, data of 252.
  enc.encode(`{"type":"transcribe","data":{"language":"en","name":"${"n".repeat(460)}"}}\n`),
  encodeEvent("transcript", { text: "t".repeat(240) }),
  enc.encode('{"type":"transcribe","data":{"language":"en"}}\n'),
  enc.encode(
    '{"type":"audio-start","data":{"rate":8000,"width":2},"data_length":14}\n{"channels":2}',
  ),
  enc.encode(
    '{"type":"a","payload_length":0}\n{"type":"b","payload_length":null,"data_length":null}\n',
  ),
  concat(
    enc.encode('{"type":"audio-chunk","data":{"rate":16000,"width":2,"channels":1},'),
    enc.encode('"payload_length":6}\n'),
    new Uint8Array([0x0a, 0x7b, 0x0a, 0x7d, 0x0a, 0x00]),
  ),
];

/** Streams of one to four valid events. */
function corpus(): Uint8Array[] {
  const out = [...EVENTS];
  let s = 7;
  for (let i = 0; i < 24; i++) {
    const n = 2 + (i % 3);
    const parts: Uint8Array[] = [];
    for (let k = 0; k < n; k++) parts.push(EVENTS[(s = (s * 31 + 11) % 9973) % EVENTS.length]);
    out.push(concat(...parts));
  }
  return out;
}

/** Every allocation of a Uint8Array while `fn` runs: the largest's length. */
function largestUint8Array<T>(fn: () => T): { result: T; largest: number } {
  const Original = globalThis.Uint8Array;
  let largest = 0;
  class Counting extends Original {
    // deno-lint-ignore no-explicit-any
    constructor(...args: any[]) {
      super(...(args as [number]));
      largest = Math.max(largest, this.length);
    }
  }
  globalThis.Uint8Array = Counting as unknown as Uint8ArrayConstructor;
  try {
    const result = fn();
    return { result, largest };
  } finally {
    globalThis.Uint8Array = Original;
  }
}

/** Results as text (payloads as arrays), so readings compare however deep their data. */
function plain(results: ReadResult[], messages = true): string {
  return flatJsonText(
    results.map((r) => r.ok || messages ? r : { ok: false, error: { code: r.error.code } }),
  );
}

const decoder = new TextDecoder("utf-8", { fatal: true });

function jsonObject(bytes: Uint8Array): Record<string, unknown> | null {
  try {
    const v = JSON.parse(decoder.decode(bytes));
    return typeof v === "object" && v !== null && !Array.isArray(v) ? v : null;
  } catch {
    return null;
  }
}

function length(v: unknown): number | null {
  if (v === undefined || v === null) return 0;
  return typeof v === "number" && Number.isSafeInteger(v) && v >= 0 ? v : null;
}

/**
 * The format read from a whole buffer, as the module's comment states it (and wyoming/event.py
 * reads it: the data's fields update the inline data's, as a dict update does).
 */
function reference(bytes: Uint8Array, limits: FramingLimits) {
  const results: ReadResult[] = [];
  const fail = (code: FramingError["code"]) => {
    results.push({ ok: false, error: { code, message: "" } });
    return { results, midEvent: false };
  };
  let at = 0;
  while (at < bytes.length) {
    const nl = bytes.indexOf(0x0a, at);
    const end = nl < 0 ? bytes.length : nl;
    if (end - at > limits.maxHeaderBytes) return fail("header_too_large");
    if (nl < 0) return { results, midEvent: true };
    const header = jsonObject(bytes.subarray(at, nl));
    at = nl + 1;
    if (header === null || typeof header.type !== "string" || header.type === "") {
      return fail("bad_event");
    }
    const inline = header.data ?? {};
    if (typeof inline !== "object" || inline === null || Array.isArray(inline)) {
      return fail("bad_event");
    }
    const dataLength = length(header.data_length);
    const payloadLength = length(header.payload_length);
    if (dataLength === null || payloadLength === null) return fail("bad_event");
    if (dataLength > limits.maxDataBytes) return fail("data_too_large");
    if (payloadLength > limits.maxPayloadBytes) return fail("payload_too_large");
    let data = inline as Record<string, unknown>;
    if (dataLength > 0) {
      if (at + dataLength > bytes.length) return { results, midEvent: true };
      const extra = jsonObject(bytes.subarray(at, at + dataLength));
      if (extra === null) return fail("bad_event");
      data = { ...data, ...extra };
      at += dataLength;
    }
    let payload: Uint8Array | null = null;
    if (payloadLength > 0) {
      if (at + payloadLength > bytes.length) return { results, midEvent: true };
      payload = bytes.slice(at, at + payloadLength);
      at += payloadLength;
    }
    results.push({ ok: true, event: { type: header.type, data, payload } });
  }
  return { results, midEvent: false };
}

/** The same bytes cut at 1 to 6 random points, pushed piece by piece. */
function pushSplit(input: Uint8Array, limits: FramingLimits, rng: Rng) {
  const cuts = Array.from({ length: 1 + rng.int(6) }, () => rng.int(input.length + 1))
    .sort((a, b) => a - b);
  const reader = new WyomingEventReader(limits);
  const out: ReadResult[] = [];
  let from = 0;
  for (const cut of [...cuts, input.length]) {
    out.push(...reader.push(input.subarray(from, cut)));
    from = cut;
  }
  return { out, reader };
}

/** How often each outcome came up, so a run shows the mutations reach all of them. */
type Tally = Map<string, number>;

function check(input: Uint8Array, limits: FramingLimits, rng: Rng, tally?: Tally): void {
  const reader = new WyomingEventReader(limits);
  const { result: out, largest } = largestUint8Array(() => reader.push(input));
  for (const r of out) {
    const key = r.ok ? (r.event.payload ? "event with payload" : "event") : r.error.code;
    tally?.set(key, (tally.get(key) ?? 0) + 1);
  }
  // Allocations are sized by checked lengths (or the header line, itself capped), never by
  // what a length field claims.
  const cap = Math.max(limits.maxHeaderBytes, limits.maxDataBytes, limits.maxPayloadBytes);
  assert.ok(largest <= cap, `allocated ${largest} bytes, over every cap (${cap})`);
  assert.ok(out.length <= Math.floor(input.length / SHORTEST_EVENT) + 1);
  out.forEach((r, i) => {
    if (!r.ok) {
      assert.equal(i, out.length - 1, "an error is the last result");
      assert.ok(CODES.includes(r.error.code), r.error.code);
      assert.equal(typeof r.error.message, "string");
      assert.ok(r.error.message.length > 0 && r.error.message.length < 200, r.error.message);
      return;
    }
    const { type, data, payload } = r.event;
    assert.ok(typeof type === "string" && type.length > 0);
    assert.ok(enc.encode(type).length < limits.maxHeaderBytes);
    assert.ok(typeof data === "object" && data !== null && !Array.isArray(data));
    assert.equal(Object.getPrototypeOf(data), Object.prototype, "data is a plain object");
    if (payload !== null) {
      assert.ok(
        payload.length > 0 && payload.length <= limits.maxPayloadBytes,
        `${payload.length}`,
      );
    }
  });
  const last = out.at(-1);
  if (last && !last.ok) {
    assert.deepEqual(reader.failed, last.error);
    assert.deepEqual(reader.push(encodeEvent("describe")), [], "failed for good");
  } else {
    assert.equal(reader.failed, null);
  }

  const ref = reference(input, limits);
  assert.equal(plain(out, false), plain(ref.results, false), "as read whole");
  if (reader.failed === null) assert.equal(reader.midEvent, ref.midEvent, "midEvent");

  const split = pushSplit(input, limits, rng);
  assert.equal(plain(split.out), plain(out), "cut at random points");
  assert.equal(split.reader.midEvent, reader.midEvent);
  assert.deepEqual(split.reader.failed, reader.failed);
}

function assertReached(tally: Tally, keys: string[]): void {
  for (const key of keys) {
    assert.ok((tally.get(key) ?? 0) > 0, `${key}: never`);
  }
}

Deno.test("fuzz framing: byte mutations of valid event streams", async () => {
  const tally: Tally = new Map();
  const seeds = corpus();
  await fuzz({ seed: 0x5eed01, corpus: seeds, cases: 12_000, randomCases: 1500 }, (input, rng) => {
    check(input, SMALL, rng, tally);
    check(input, WIDE, rng);
  });
  // Lengths past their caps come from the structure mutations below: digits rarely flip so.
  assertReached(tally, ["event", "event with payload", "bad_event", "header_too_large"]);
});

/** One event built from JSON that may have been mutated, its lengths true or not. */
function structuredEvent(rng: Rng): Uint8Array {
  const type = rng.pick(["audio-chunk", "audio-start", "transcribe", "describe", "ping", "x"]);
  let dataText = toJsonText(rng.pick([
    FORMAT,
    { language: "en" },
    { text: "hi" },
    { rate: 44100, width: 4, channels: 2, timestamp: 5 },
  ]));
  if (rng.next() < 0.6) dataText = mutateJson(rng, dataText);
  const dataBytes = enc.encode(dataText);
  const payload = randomBytes(rng, rng.int(3) === 0 ? 0 : rng.int(1200));
  const header: Record<string, unknown> = { type, version: "1.10.2" };
  const inline = rng.int(3) === 0;
  if (inline) header.data = JSON.parse("{}");
  else header.data_length = dataBytes.length;
  if (payload.length > 0) header.payload_length = payload.length;
  let headerText = JSON.stringify(header);
  if (inline) headerText = headerText.replace('"data":{}', `"data":${dataText}`);
  if (rng.next() < 0.5) {
    // Inline data mutated into text that is not JSON is mutated no further.
    const parses = (() => {
      try {
        JSON.parse(headerText);
        return true;
      } catch {
        return false;
      }
    })();
    if (parses) headerText = mutateJson(rng, headerText);
  }
  if (rng.int(4) === 0) {
    const field = rng.pick(["data_length", "payload_length"]);
    const value = rng.pick([
      "0",
      "1",
      "256",
      "257",
      "1024",
      "1025",
      "65536",
      "65537",
      "-1",
      "1.5",
      '"5"',
      "null",
      "true",
      "1e300",
      "9007199254740991",
      "9007199254740993",
      "4294967295",
      "-0",
      "1e2",
    ]);
    headerText = headerText.replace(/}$/, `,"${field}":${value}}`);
  }
  return concat(enc.encode(headerText + "\n"), inline ? new Uint8Array(0) : dataBytes, payload);
}

Deno.test("fuzz framing: JSON-structure mutations of headers and data", async () => {
  const tally: Tally = new Map();
  await fuzzStructured({
    seed: 0x5eed02,
    cases: 5000,
    make: (rng) => concat(...Array.from({ length: 1 + rng.int(3) }, () => structuredEvent(rng))),
    show: (bytes) => new TextDecoder().decode(bytes.subarray(0, 400)),
  }, (input, rng) => {
    check(input, SMALL, rng, tally);
    check(input, WIDE, rng);
  });
  assertReached(tally, ["event", "event with payload", ...CODES]);
});
