/**
 * A long upload beside a live stream: a server process transcribes one long file (speech, as
 * FLAC) through POST /v1/audio/transcriptions while a well-behaved stream runs at real time
 * beside it; reports the stream's partial-latency p95 against STEP_MS + 100 ms, its finals against
 * the clip streamed alone, and the upload's time and answer.
 *
 *   deno run -A bench/long_upload.ts [--minutes 60] [--out bench/results/long-upload-….json]
 *
 * Loopback only; bounded by the upload's own time.
 */
import { parseArgs } from "node:util";
import { describeMachine, loadAverage } from "../src/bench/machine.ts";
import { startServerProcess } from "./server_process.ts";
import { clipPcm } from "./attack/media_files.ts";
import { P95_MARGIN_MS, startNeighbour, streamAlone } from "./attack/neighbour.ts";

const args = parseArgs({
  args: Deno.args,
  options: { minutes: { type: "string", default: "60" }, out: { type: "string" } },
});
const minutes = Number(args.values.minutes);
const day = new Date().toISOString().slice(0, 10);
const out = args.values.out ?? `bench/results/long-upload-${day}-${minutes}min.json`;

/** The clip repeated to `minutes`, as 16 kHz FLAC (sox reads the raw PCM on stdin). */
async function speechFlac(): Promise<Uint8Array> {
  const pcm = clipPcm();
  const repeats = Math.ceil((minutes * 60 * 32000) / pcm.length);
  const path = await Deno.makeTempFile({ suffix: ".flac" });
  const sox = new Deno.Command("sox", {
    args: ["-t", "raw", "-r", "16000", "-e", "signed", "-b", "16", "-c", "1", "-", path],
    stdin: "piped",
  }).spawn();
  const w = sox.stdin.getWriter();
  for (let i = 0; i < repeats; i++) await w.write(pcm);
  await w.close();
  if (!(await sox.status).success) throw new Error("sox failed");
  const bytes = await Deno.readFile(path);
  await Deno.remove(path);
  return bytes;
}

/** The least time the neighbour streams: a few utterances of the clip. */
const NEIGHBOUR_MIN_MS = 15_000;

const flac = await speechFlac();
const server = await startServerProcess({ MAX_UPLOAD_S: String(minutes * 60 + 60) });
const t0 = performance.now();
const loadAtStart = loadAverage();
try {
  const status = await (await fetch(`http://127.0.0.1:${server.port}/v1/status`)).json();
  const knobs = { stepMs: status.knobs.STEP_MS, rightContextMs: status.knobs.RIGHT_CONTEXT_MS };
  const url = `ws://127.0.0.1:${server.port}/ws`;
  const clip = clipPcm();
  const reference = await streamAlone(url, clip, knobs);
  const neighbour = startNeighbour(url, clip, knobs, reference, minutes * 60 + 600, t0);
  const neighbourStart = performance.now();
  // The stream is under way (a few partials out) before the upload starts.
  await new Promise((r) => setTimeout(r, 3_000));
  const form = new FormData();
  form.append("file", new File([flac as Uint8Array<ArrayBuffer>], "long.flac"));
  const sent = performance.now();
  const res = await fetch(`http://127.0.0.1:${server.port}/v1/audio/transcriptions`, {
    method: "POST",
    body: form,
  });
  const body = await res.text();
  const uploadS = (performance.now() - sent) / 1000;
  // At least a few whole utterances, so a short upload still gives finals to check.
  const wait = NEIGHBOUR_MIN_MS - (performance.now() - neighbourStart);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
  const report = await neighbour.stop();
  const words = res.ok ? String(JSON.parse(body).text).split(/\s+/).filter(Boolean).length : 0;
  const result = {
    machine: {
      ...describeMachine(String(status.model?.ortVersion ?? "unknown")),
      load_average_at_start: loadAtStart,
      load_average: loadAverage(),
    },
    audioMinutes: minutes,
    flacBytes: flac.length,
    upload: { status: res.status, seconds: Math.round(uploadS * 10) / 10, words },
    neighbour: report,
    p95BoundMs: knobs.stepMs + P95_MARGIN_MS,
    pass: res.ok && report.exact && report.p95WithinBound,
  };
  await Deno.writeTextFile(out, JSON.stringify(result, null, 1) + "\n");
  console.log(
    JSON.stringify({
      upload: result.upload,
      p95: report.partialLatencyMs,
      exact: report.exact,
      out,
    }),
  );
  if (!result.pass) Deno.exitCode = 1;
} finally {
  server.child.kill("SIGTERM");
  await server.child.status;
}
