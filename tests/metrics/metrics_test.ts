/**
 * `/metrics`: the hand-written exposition is checked byte for byte where the format is strict
 * (escaping, buckets), then parsed by prometheus_client's reference parser after real streams.
 */
import assert from "node:assert/strict";
import {
  escapeLabelValue,
  formatValue,
  MetricRegistry,
  METRICS_CONTENT_TYPE,
} from "../../src/format/prometheus.ts";
import { ServerMetrics } from "../../src/server/server_metrics.ts";
import { SlidingSum } from "../../src/server/sliding_sum.ts";
import { clipPcmBytes, CLIPS_DIR } from "../engine/fixtures.ts";
import { connect, startTestServer, streamAudio } from "../server/harness.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";
import { CLOSE_CODE_LABELS, closeCodeLabel, WIRE_ERRORS } from "../../src/protocol/wire_errors.ts";
import { parseExposition, parserAvailable, sampleValue, SKIP_MESSAGE } from "./prometheus.ts";

const canParse = parserAvailable();
if (!canParse) console.error(SKIP_MESSAGE);

Deno.test("label values escape backslash, quote and newline, and nothing else", () => {
  assert.equal(escapeLabelValue('a\\b"c\nd\te'), 'a\\\\b\\"c\\nd\te');
  assert.equal(formatValue(Infinity), "+Inf");
  assert.equal(formatValue(-Infinity), "-Inf");
  assert.equal(formatValue(NaN), "NaN");
  assert.equal(formatValue(0.25), "0.25");
});

Deno.test("exposition text: HELP/TYPE lines, labelled counters, cumulative histogram buckets", () => {
  const r = new MetricRegistry();
  const c = r.counter("x_total", "Things.\nSecond line \\ backslash", ["kind"]);
  c.inc(2, { kind: 'say "hi"' });
  c.inc(1, { kind: "plain" });
  const h = r.histogram("lat_seconds", "Latency", [0.1, 1]);
  h.observe(0.05);
  h.observe(0.5);
  h.observe(7);
  r.gauge("g", "A gauge", [], () => 3);
  let spaces: [Record<string, string>, number][] = [[{ space: "old" }, 5], [{ space: "new" }, 2]];
  r.gauge("s", "Read per label set", ["space"], () => spaces);
  assert.equal(
    r.render(),
    [
      "# HELP x_total Things.\\nSecond line \\\\ backslash",
      "# TYPE x_total counter",
      'x_total{kind="say \\"hi\\""} 2',
      'x_total{kind="plain"} 1',
      "# HELP lat_seconds Latency",
      "# TYPE lat_seconds histogram",
      'lat_seconds_bucket{le="0.1"} 1',
      'lat_seconds_bucket{le="1"} 2',
      'lat_seconds_bucket{le="+Inf"} 3',
      "lat_seconds_sum 7.55",
      "lat_seconds_count 3",
      "# HELP g A gauge",
      "# TYPE g gauge",
      "g 3",
      "# HELP s Read per label set",
      "# TYPE s gauge",
      's{space="old"} 5',
      's{space="new"} 2',
      "",
    ].join("\n"),
  );
  // Read again at each scrape: a label set that went away is not repeated.
  spaces = [[{ space: "old" }, 6]];
  assert.match(r.render(), /# TYPE s gauge\ns\{space="old"\} 6\n$/);
  spaces = [[{ kind: "old" }, 6]];
  assert.throws(() => r.render(), /takes labels \{space\}, got \{kind\}/);
});

Deno.test("metric misuse fails loudly: wrong labels, negative increments, bad names", () => {
  const r = new MetricRegistry();
  const c = r.counter("c_total", "C", ["code"]);
  assert.throws(() => c.inc(1), /takes labels \{code\}, got \{\}/);
  assert.throws(() => c.inc(1, { code: "1", other: "2" }), /takes labels/);
  assert.throws(() => c.inc(-1, { code: "1" }), /cannot go up by -1/);
  assert.throws(() => c.set(3, { code: "1" }), /cannot be set/);
  assert.throws(() => r.counter("c_total", "again"), /registered twice/);
  assert.throws(() => r.counter("bad-name", "x"), /invalid metric name/);
  assert.throws(() => r.counter("ok", "x", ["le"]), /invalid label name "le"/);
  assert.throws(() => r.histogram("h", "x", [1, 1]), /buckets must increase/);
});

Deno.test("the real-time factor looks back one minute, in bounded memory", () => {
  let now = 0;
  const sum = new SlidingSum(60_000, () => now);
  sum.add(1);
  now = 30_000;
  sum.add(2);
  assert.equal(sum.total(), 3);
  now = 60_500;
  assert.equal(sum.total(), 2, "the value from second 0 has left the window");
  now = 200_000;
  assert.equal(sum.total(), 0);

  now = 0;
  const m = new ServerMetrics(
    { dir: "/m/x", device: "cpu", precision: "fp32", ortVersion: "1" },
    { openStreams: () => 0, openUploads: () => 0, inflightBatches: () => 0 },
    () => now,
  );
  assert.equal(m.realTimeFactor(), 0, "nothing decoded yet");
  m.batchDone({
    streams: 1,
    windows: 1,
    result: {
      rows: [],
      stats: { encoderCalls: 1, jointCalls: 4, encodeMs: 150, decodeMs: 50 },
    } as never,
  });
  m.observer("stream").stepDone({ latencyMs: 30, chunks: 1, audioSeconds: 2, tokens: 3 });
  assert.equal(m.realTimeFactor(), 0.1, "0.2 s of inference for 2 s of audio");
});

Deno.test({
  name: "GET /metrics after streams: prometheus_client parses it; counters count what happened",
  ignore: !canParse,
  fn: async () => {
    await using srv = await startTestServer();
    const clips = ["digits_pi.wav", "seven_eight.wav", "nine_hundred.wav"];
    const outcomes = await Promise.all(
      clips.map((c) => streamAudio(srv.url, clipPcmBytes(c), { rtf: 8 })),
    );
    for (const [i, o] of outcomes.entries()) {
      assert.equal(o.finals.length, 1, clips[i]);
      assert.ok(o.finals[0].length > 0, clips[i]);
    }
    // One invalid text frame (kept open, error counted), one refused upgrade, one upload.
    const ws = await StreamSocket.open(srv.url);
    ws.send("hello");
    await ws.waitFor(() => ws.received.length > 0, Infinity);
    await ws.close(1000, undefined, Infinity);
    assert.equal((await (await fetch(`${srv.http}/ws`)).text()).length > 0, true);
    const form = new FormData();
    form.append("file", new Blob([Deno.readFileSync(`${CLIPS_DIR}/no_eight.wav`)]), "a.wav");
    const upload = await fetch(`${srv.http}/v1/audio/transcriptions`, {
      method: "POST",
      body: form,
    });
    assert.equal(upload.status, 200, await upload.text());
    // Close events are counted when the server sees them; give the last one a moment.
    await new Promise((r) => setTimeout(r, 100));

    const res = await fetch(`${srv.http}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get("content-type"), METRICS_CONTENT_TYPE);
    const text = await res.text();
    const f = await parseExposition(text);
    const v = (name: string, labels: Record<string, string> = {}) => sampleValue(f, name, labels);

    assert.equal(f["parakeet_streams"].type, "counter");
    assert.equal(v("parakeet_streams_total"), 4);
    assert.equal(v("parakeet_open_streams"), 0);
    // Memory: the process's RSS (at least the model's weights) and the main isolate's heap.
    assert.ok(v("process_resident_memory_bytes") > 20 * 2 ** 20);
    assert.ok(v("parakeet_main_heap_used_bytes") > 2 ** 20);
    assert.ok(v("parakeet_main_heap_used_bytes") < v("process_resident_memory_bytes"));
    assert.ok(v("parakeet_main_external_bytes") >= 0);
    // The heap per V8 space adds up to the heap reserved.
    const spaces = f["parakeet_main_heap_space_bytes"].samples;
    assert.ok(spaces.some((s) => s.labels.space === "old_space" && Number(s.value) > 0));
    const spacesTotal = spaces.reduce((n, s) => n + Number(s.value), 0);
    assert.ok(Math.abs(spacesTotal - v("parakeet_main_heap_total_bytes")) < 4 * 2 ** 20);
    assert.equal(v("parakeet_refused_total", { reason: "not_websocket" }), 1);
    assert.equal(v("parakeet_errors_total", { code: "invalid_message" }), 1);
    assert.equal(v("parakeet_ws_closes_total", { code: "1000" }), 4);
    assert.ok(v("parakeet_batches_total") > 0);
    assert.equal(v("parakeet_batch_failures_total"), 0);
    assert.ok(v("parakeet_steps_total", { source: "stream" }) >= clips.length);
    assert.ok(v("parakeet_steps_total", { source: "upload" }) >= 1);
    assert.ok(v("parakeet_encoder_calls_total") > 0);
    assert.ok(v("parakeet_joint_calls_total") > 0);
    assert.ok(v("parakeet_tokens_total", { source: "stream" }) > 0);
    // Every sample of the streamed clips is decoded; only the last chunk is partial.
    const streamed = clips.reduce((n, c) => n + clipPcmBytes(c).length / 32000, 0);
    const audio = v("parakeet_audio_seconds_total", { source: "stream" });
    assert.ok(Math.abs(audio - streamed) < 0.01 * clips.length + 1e-6, `${audio} vs ${streamed}`);

    assert.equal(f["parakeet_batch_windows"].type, "histogram");
    const batches = v("parakeet_batches_total");
    assert.equal(v("parakeet_batch_windows_count"), batches);
    assert.equal(v("parakeet_batch_windows_bucket", { le: "+Inf" }), batches);
    assert.equal(v("parakeet_encoder_seconds_count"), batches);
    assert.ok(v("parakeet_encoder_seconds_sum") > 0);
    assert.ok(v("parakeet_decoder_seconds_sum") > 0);
    const steps = v("parakeet_steps_total", { source: "stream" });
    assert.equal(v("parakeet_step_latency_seconds_count", { source: "stream" }), steps);
    assert.ok(v("parakeet_step_latency_seconds_sum", { source: "stream" }) > 0);
    assert.ok(v("parakeet_real_time_factor") > 0);
    assert.ok(v("parakeet_inference_seconds_total") > 0);

    const info = f["parakeet_model_info"].samples[0];
    assert.deepEqual(Object.keys(info.labels).sort(), [
      "device",
      "model",
      "ort_version",
      "precision",
    ]);
    assert.deepEqual(
      { model: info.labels.model, device: info.labels.device, precision: info.labels.precision },
      { model: "tiny-tdt", device: "cpu", precision: "fp32" },
    );
    assert.equal(info.value, 1);
    // Buckets are cumulative and ordered as the parser read them.
    const buckets = f["parakeet_step_latency_seconds"].samples
      .filter((s) => s.name.endsWith("_bucket") && s.labels.source === "stream")
      .map((s) => Number(s.value));
    assert.deepEqual(buckets, [...buckets].sort((a, b) => a - b));
  },
});

Deno.test({
  name: "exposition with hostile label values survives the reference parser",
  ignore: !canParse,
  fn: async () => {
    const m = new ServerMetrics(
      { dir: '/models/we"ird\\dir\nname/', device: "cpu", precision: "int8", ortVersion: "1.30" },
      { openStreams: () => 2, openUploads: () => 0, inflightBatches: () => 1 },
    );
    // The server's own label sets are closed (see below); an open one carries the hostile value.
    m.registry.counter("hostile_total", "An open label", ["reason"]).inc(1, { reason: 'a,b="c"' });
    const f = await parseExposition(m.render());
    assert.equal(f["parakeet_model_info"].samples[0].labels.model, 'we"ird\\dir\nname');
    assert.equal(sampleValue(f, "hostile_total", { reason: 'a,b="c"' }), 1);
    assert.equal(sampleValue(f, "parakeet_open_streams"), 2);
  },
});

Deno.test("closed labels: values outside the set throw; every allowed series starts at 0", () => {
  const r = new MetricRegistry();
  const c = r.counter("closed_total", "Closed", ["code"], { code: ["a", "b"] });
  assert.match(r.render(), /closed_total\{code="a"\} 0\nclosed_total\{code="b"\} 0\n/);
  c.inc(2, { code: "b" });
  assert.equal(c.get({ code: "b" }), 2);
  assert.throws(() => c.inc(1, { code: "c" }), /label code cannot be "c" \(one of a, b\)/);
});

Deno.test('client-chosen close codes fold into one "other" label; ours keep their number', () => {
  assert.deepEqual(CLOSE_CODE_LABELS, [
    "1000",
    "1001",
    "1002",
    "1003",
    "1005",
    "1006",
    "1007",
    "1008",
    "1009",
    "1011",
    "1013",
  ]);
  for (const code of Object.values(WIRE_ERRORS).map((e) => e.close)) {
    if (code !== null) assert.equal(closeCodeLabel(code), String(code));
  }
  for (const code of [1004, 1010, 1012, 1014, 3000, 4999, 0, -1, 65535]) {
    assert.equal(closeCodeLabel(code), "other", String(code));
  }
  const m = new ServerMetrics(
    { dir: "/m", device: "cpu", precision: "fp32", ortVersion: "1" },
    { openStreams: () => 0, openUploads: () => 0, inflightBatches: () => 0 },
  );
  const before = m.render().split("\n").length;
  for (let code = 3000; code < 3500; code++) m.closes.inc(1, { code: closeCodeLabel(code) });
  assert.equal(m.closes.get({ code: "other" }), 500);
  assert.equal(m.render().split("\n").length, before, "500 codes, no new series");
  assert.throws(() => m.refused.inc(1, { reason: "made_up" }), /cannot be "made_up"/);
  assert.throws(() => m.errors.inc(1, { code: "made_up" }), /cannot be "made_up"/);
});

Deno.test("500 distinct close codes from clients add no series to /metrics", async () => {
  // Every socket here is from one address: its cap is not what this test is about.
  await using srv = await startTestServer({ MAX_STREAMS_PER_CLIENT: "1000" });
  const scrape = async () => await (await fetch(`${srv.http}/metrics`)).text();
  const closeSeries = (text: string) =>
    text.split("\n").filter((l) => l.startsWith("parakeet_ws_closes_total{"));
  const before = closeSeries(await scrape());
  for (let batch = 0; batch < 500; batch += 25) {
    await Promise.all(Array.from({ length: 25 }, async (_, i) => {
      const ws = await connect(srv.url);
      const closed = new Promise((r) => ws.onclose = r);
      ws.close(3000 + batch + i);
      await closed;
    }));
  }
  // The server counts a close when it sees it; wait for the last ones.
  const deadline = Date.now() + 5000;
  let after = closeSeries(await scrape());
  while (!after.includes('parakeet_ws_closes_total{code="other"} 500') && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 50));
    after = closeSeries(await scrape());
  }
  assert.ok(after.includes('parakeet_ws_closes_total{code="other"} 500'), after.join("\n"));
  assert.equal(after.length, before.length, after.join("\n"));
  assert.equal(after.length, CLOSE_CODE_LABELS.length + 1);
  assert.deepEqual(Object.keys(srv.server.stats().closesByCode), ["other"]);
});

Deno.test("GET /metrics answers only GET; other methods fall through to 404", async () => {
  await using srv = await startTestServer();
  const res = await fetch(`${srv.http}/metrics`, { method: "POST" });
  await res.body?.cancel();
  assert.equal(res.status, 404);
});
