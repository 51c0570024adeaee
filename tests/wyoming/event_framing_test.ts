import assert from "node:assert/strict";
import {
  encodeEvent,
  type ReadResult,
  WyomingEventReader,
} from "../../src/wyoming/event_framing.ts";

const enc = new TextEncoder();
const LIMITS = { maxHeaderBytes: 256, maxDataBytes: 128, maxPayloadBytes: 1024 };

function events(results: ReadResult[]) {
  return results.map((r) => {
    if (!r.ok) throw new Error(`unexpected ${r.error.code}`);
    return r.event;
  });
}

Deno.test("framing: an event written by encodeEvent reads back, cut at every byte", () => {
  const payload = new Uint8Array([1, 2, 3, 4, 5, 0x0a, 7]);
  const bytes = new Uint8Array([
    ...encodeEvent("audio-chunk", { rate: 16000, width: 2, channels: 1 }, payload),
    ...encodeEvent("audio-stop"),
  ]);
  for (let cut = 0; cut <= bytes.length; cut++) {
    const reader = new WyomingEventReader(LIMITS);
    const got = events([
      ...reader.push(bytes.subarray(0, cut)),
      ...reader.push(bytes.subarray(cut)),
    ]);
    assert.equal(got.length, 2, `cut at ${cut}`);
    assert.equal(got[0].type, "audio-chunk");
    assert.deepEqual(got[0].data, { rate: 16000, width: 2, channels: 1 });
    assert.deepEqual(got[0].payload, payload);
    assert.deepEqual(got[1], { type: "audio-stop", data: {}, payload: null });
    assert.equal(reader.midEvent, false);
  }
});

Deno.test("framing: one byte at a time, and the reader copies what the caller's buffer held", () => {
  const bytes = encodeEvent("transcript", { text: "héllo" });
  const reader = new WyomingEventReader(LIMITS);
  const got: ReadResult[] = [];
  const scratch = new Uint8Array(1);
  for (const b of bytes) {
    scratch[0] = b;
    got.push(...reader.push(scratch));
    scratch[0] = 0;
  }
  assert.deepEqual(events(got), [{ type: "transcript", data: { text: "héllo" }, payload: null }]);
});

Deno.test("framing: inline data (older writers) and data_length merged over it", () => {
  const reader = new WyomingEventReader(LIMITS);
  const inline = enc.encode('{"type":"transcribe","data":{"language":"en"}}\n');
  const merged = enc.encode(
    '{"type":"audio-start","data":{"rate":8000,"width":2},"data_length":14}\n{"channels":2}',
  );
  const got = events(reader.push(new Uint8Array([...inline, ...merged])));
  assert.deepEqual(got[0].data, { language: "en" });
  assert.deepEqual(got[1].data, { rate: 8000, width: 2, channels: 2 });
});

Deno.test("framing: encodeEvent writes data after the line with its data_length, like the package", () => {
  const bytes = encodeEvent("error", { text: "x", code: "y" }, null);
  const text = new TextDecoder().decode(bytes);
  const [line, rest] = text.split("\n");
  const header = JSON.parse(line);
  assert.equal(header.type, "error");
  assert.equal(header.data, undefined);
  assert.equal(header.data_length, enc.encode(rest).length);
  assert.equal(header.payload_length, undefined);
  assert.equal(typeof header.version, "string");
  assert.deepEqual(JSON.parse(rest), { text: "x", code: "y" });
  // No data: no data_length at all.
  assert.equal(
    JSON.parse(new TextDecoder().decode(encodeEvent("describe"))).data_length,
    undefined,
  );
});

Deno.test("framing: a header line over the cap fails before its newline arrives", () => {
  const reader = new WyomingEventReader(LIMITS);
  assert.deepEqual(reader.push(enc.encode('{"type":"' + "a".repeat(200))), []);
  const r = reader.push(enc.encode("a".repeat(100)));
  assert.equal(r.length, 1);
  assert.equal(!r[0].ok && r[0].error.code, "header_too_large");
  // Failed for good: nothing more is read.
  assert.deepEqual(reader.push(encodeEvent("describe")), []);
  assert.ok(reader.failed);
});

Deno.test("framing: a failed reader holds no part of an event, however the bytes were cut", () => {
  const line = enc.encode('{"type":"' + "a".repeat(300));
  const whole = new WyomingEventReader(LIMITS);
  whole.push(line);
  const cut = new WyomingEventReader(LIMITS);
  cut.push(line.subarray(0, 200));
  const r = cut.push(line.subarray(200));
  assert.equal(!r[0].ok && r[0].error.code, "header_too_large");
  // The 200 bytes before the cap was passed were dropped with the line: midEvent said true.
  assert.equal(cut.midEvent, false);
  assert.equal(whole.midEvent, false);
});

Deno.test("framing: data_length and payload_length over their caps fail on the header alone", () => {
  for (
    const [header, code] of [
      ['{"type":"x","data_length":129}', "data_too_large"],
      ['{"type":"x","payload_length":1025}', "payload_too_large"],
      ['{"type":"x","payload_length":1e300}', "bad_event"],
      ['{"type":"x","payload_length":9007199254740993}', "bad_event"],
      ['{"type":"x","payload_length":-1}', "bad_event"],
      ['{"type":"x","payload_length":"5"}', "bad_event"],
    ] as const
  ) {
    const reader = new WyomingEventReader(LIMITS);
    // Nothing of the announced length is sent: the answer cannot have waited for (or
    // allocated) it.
    const r = reader.push(enc.encode(header + "\n"));
    assert.equal(r.length, 1, header);
    assert.equal(!r[0].ok && r[0].error.code, code, header);
  }
});

Deno.test("framing: a payload_length of 2^53 is refused without allocating it", () => {
  const reader = new WyomingEventReader(LIMITS);
  const before = Deno.memoryUsage().rss;
  const r = reader.push(enc.encode('{"type":"audio-chunk","payload_length":9007199254740991}\n'));
  assert.equal(!r[0].ok && r[0].error.code, "payload_too_large");
  assert.ok(Deno.memoryUsage().rss - before < 64 * 1024 * 1024);
});

Deno.test("framing: bad JSON, a non-object, no type, bad data are bad events", () => {
  for (
    const bytes of [
      "not json\n",
      "[1,2]\n",
      '{"data":{}}\n',
      '{"type":""}\n',
      '{"type":"x","data":[1]}\n',
      '{"type":"x","data_length":3}\n[1]',
      '{"type":"x","data_length":2}\n\xff\xfe',
    ]
  ) {
    const reader = new WyomingEventReader(LIMITS);
    const raw = bytes.includes("\xff")
      ? new Uint8Array([...enc.encode(bytes.slice(0, -2)), 0xff, 0xfe])
      : enc.encode(bytes);
    const r = reader.push(raw);
    assert.equal(r.length, 1, JSON.stringify(bytes));
    assert.equal(!r[0].ok && r[0].error.code, "bad_event", JSON.stringify(bytes));
  }
});

Deno.test("framing: a payload_length of 0 or null means no payload", () => {
  const reader = new WyomingEventReader(LIMITS);
  const got = events(reader.push(enc.encode(
    '{"type":"a","payload_length":0}\n{"type":"b","payload_length":null,"data_length":null}\n',
  )));
  assert.deepEqual(got.map((e) => [e.type, e.payload]), [["a", null], ["b", null]]);
});
