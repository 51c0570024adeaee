import assert from "node:assert/strict";
import { startTestServer } from "../server/harness.ts";
import { CLIP, runCli } from "./cli_run.ts";

Deno.test("warmup --json reports first partial, partial latency and EOS → final", async () => {
  await using server = await startTestServer();
  const r = await runCli(["warmup", "--file", CLIP, "--url", server.url, "--rtf", "10", "--json"]);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.knobs_source, "server");
  assert.deepEqual(rep.knobs, { STEP_MS: 240, RIGHT_CONTEXT_MS: 160 });
  assert.equal(typeof rep.first_partial_ms, "number");
  assert.ok(rep.partials >= 1);
  assert.equal(rep.partial_latency_ms.count, rep.partials);
  for (const k of ["p50", "p95", "p99", "max", "mean"]) {
    assert.equal(typeof rep.partial_latency_ms[k], "number", k);
  }
  assert.equal(rep.partial_latency_basis, "words");
  assert.equal(typeof rep.eos_to_final_ms, "number");
  assert.equal(typeof rep.final_text, "string");
  assert.deepEqual(rep.errors, []);
  assert.equal(rep.close_code, 1000);
});

Deno.test("warmup --print-partials prints one line per partial, then the report", async () => {
  await using server = await startTestServer();
  const r = await runCli(["warmup", "--file", CLIP, "--url", server.url, "--print-partials"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\+\d+ ms {2}audio \d+\.\d\d s {2}latency .+ {2}\S/m);
  for (const label of ["first partial", "partial latency", "EOS → final", "final"]) {
    assert.match(r.stdout, new RegExp(`^${label} `, "m"));
  }
});

Deno.test("bench: a few real-time streams report percentiles and no errors", async () => {
  await using server = await startTestServer();
  const r = await runCli([
    "bench",
    "--url",
    server.url,
    "--streams",
    "3",
    "--duration",
    "3",
    "--file",
    CLIP,
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.equal(rep.phases.length, 1);
  const p = rep.phases[0];
  assert.equal(p.connected, 3);
  assert.ok(p.partials > 0);
  for (const k of ["p50", "p95", "p99"]) assert.equal(typeof p.partial_latency_ms[k], "number");
  assert.equal(p.finals, 6); // 3 s of a 2.9 s clip: two utterances per stream
  assert.equal(p.finals_missing, 0);
  assert.deepEqual(p.errors, {});
  assert.deepEqual(p.closes, { "1000": 3 });
  assert.equal(p.abnormal_streams, 0);
  assert.ok(p.realtime_factor_per_stream > 0);
  assert.match(r.stderr, /\[bench 3 streams\]/); // the progress display
});

Deno.test("bench --ramp stops at --max-streams within its phase budget", async () => {
  await using server = await startTestServer();
  const r = await runCli([
    "bench",
    "--url",
    server.url,
    "--ramp",
    "--max-streams",
    "4",
    "--duration",
    "1",
    "--target-ms",
    "100000",
    "--json",
  ]);
  assert.equal(r.code, 0, r.stderr);
  const rep = JSON.parse(r.stdout);
  assert.deepEqual(rep.phases.map((p: { streams: number }) => p.streams), [1, 2, 4]);
  assert.equal(rep.ramp.best_streams, 4);
  assert.equal(rep.ramp.capped, true);
  assert.equal(rep.input.tone_hz, 440);
});

Deno.test("bench rejects bad options with the value named", async () => {
  const r = await runCli(["bench", "--streams", "0"]);
  assert.equal(r.code, 2);
  assert.match(r.stderr, /--streams must be a number from 1 to 1024, got "0"/);
  const ramp = await runCli(["bench", "--ramp", "--ramp-start", "9", "--max-streams", "4"]);
  assert.equal(ramp.code, 2);
  assert.match(ramp.stderr, /--ramp-start \(9\) must not exceed --max-streams \(4\)/);
});
