import { parseArgs } from "node:util";
import type { PhaseReport } from "../bench/phase.ts";
import {
  describeBenchInput,
  loadBenchInput,
  loadRunner,
  type RampResult,
  runRamp,
  TONE_UTTERANCE_S,
} from "../bench/load.ts";
import { LiveLine } from "../client/live_line.ts";
import { summaryLine, table } from "../client/report.ts";
import { shownUrl } from "../client/auth_header.ts";
import { fetchServerInfo, parseWsUrl } from "../client/server_url.ts";
import { intOption, numberOption, tokenOption } from "./client_options.ts";
import { asUsageError, UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server bench [options]
       parakeet-server bench gpu [options]   (encoder-only capacity of a GPU; bench gpu --help)

Concurrency benchmark: opens many streams at once, each sending audio paced at real time, and
reports partial latency p50/p95/p99, EOS → final latency, the achieved real-time factor, errors
and closes. A progress line runs on stderr.

Options:
  --url URL          server WebSocket (default ws://127.0.0.1:8000/ws)
  --token T          the server's token (its AUTH_TOKEN), sent as Authorization: Bearer on
                     every request (env PARAKEET_TOKEN; --token wins)
  --streams N        concurrent streams (default 64; at most 1024)
  --duration S       seconds of audio each stream sends (default 30; at most 3600)
  --file F           audio to stream, looped; each pass is one utterance ended by EOS
                     (default: the seed's synthetic 440 Hz tone in ${TONE_UTTERANCE_S} s utterances —
                     a tone may give no partials on a speech model; use speech for partials)
  --frame-ms N       audio per frame in ms (default 20)
  --ramp             find the most streams whose p95 latency holds --target-ms: doubles from
                     --ramp-start, then bisects (to 10%), each load run for --duration seconds
  --target-ms N      latency target for --ramp (default STEP_MS + 100 from /v1/status)
  --ramp-start N     first load of the ramp (default 1)
  --max-streams N    largest load the ramp tries (default 256)
  --max-phases N     most loads the ramp runs (default 10)
  --ramp-precision N stop bisecting when the loads that held and missed are N streams apart
                     (default: 10% of the load that held, at least 1)
  --json             the report as one JSON object on stdout
  -h, --help         this help

Partial latency = arrival − send time of the last byte of the audio the partial covers (the
end of the step that produced it plus its right context; docs/clients.md). Exit code 1 when a phase had errors, abnormal closes or refused connections.
Every stream comes from this machine's address: start the server with MAX_STREAMS_PER_CLIENT
at least --streams (or --max-streams), or the rest are refused (503).`;

export async function benchCommand(args: string[]): Promise<number> {
  if (args[0] === "gpu") {
    return await (await import("./bench_gpu.ts")).benchGpuCommand(args.slice(1));
  }
  const parsed = asUsageError(() =>
    parseArgs({
      args,
      options: {
        url: { type: "string", default: "ws://127.0.0.1:8000/ws" },
        token: { type: "string" },
        streams: { type: "string", default: "64" },
        duration: { type: "string", default: "30" },
        file: { type: "string" },
        "frame-ms": { type: "string", default: "20" },
        ramp: { type: "boolean", default: false },
        "target-ms": { type: "string" },
        "ramp-start": { type: "string", default: "1" },
        "max-streams": { type: "string", default: "256" },
        "max-phases": { type: "string", default: "10" },
        "ramp-precision": { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  );
  const { values } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const url = asUsageError(() => parseWsUrl(values.url));
  const streams = intOption(values.streams, "--streams", 1, 1024);
  const durationS = numberOption(values.duration, "--duration", 0.5, 3600);
  const frameMs = numberOption(values["frame-ms"], "--frame-ms", 1, 60_000);
  const rampStart = intOption(values["ramp-start"], "--ramp-start", 1, 1024);
  const maxStreams = intOption(values["max-streams"], "--max-streams", 1, 1024);
  const maxPhases = intOption(values["max-phases"], "--max-phases", 1, 50);
  const precision = values["ramp-precision"] === undefined
    ? undefined
    : intOption(values["ramp-precision"], "--ramp-precision", 1, 1024);
  if (values.ramp && rampStart > maxStreams) {
    throw new UsageError(
      `--ramp-start (${rampStart}) must not exceed --max-streams (${maxStreams})`,
    );
  }
  const target = values["target-ms"] === undefined
    ? undefined
    : numberOption(values["target-ms"], "--target-ms", 1, 600_000);

  const token = tokenOption(values.token);
  const input = await loadBenchInput(values.file);
  const info = await fetchServerInfo(url, { token });
  const targetMs = target ?? info.knobs.stepMs + 100;
  const progress = new LiveLine(Deno.stderr);
  const run = loadRunner({
    url: url.href,
    token,
    input,
    durationS,
    frameMs,
    knobs: info.knobs,
    progress,
  });

  let phases: PhaseReport[];
  let ramp: RampResult | null = null;
  if (values.ramp) {
    ({ phases, ramp } = await runRamp(
      run,
      { start: rampStart, max: maxStreams, maxPhases, targetMs, precision },
      (v) =>
        progress.print(`[ramp] ${v.streams} streams: ${v.held ? "held" : "missed"} (${v.why})`),
    ));
  } else {
    phases = [await run(streams)];
  }

  const report = {
    url: shownUrl(url),
    input: describeBenchInput(input),
    knobs: info.status?.knobs ?? {
      STEP_MS: info.knobs.stepMs,
      RIGHT_CONTEXT_MS: info.knobs.rightContextMs,
    },
    knobs_source: info.knobsSource,
    frame_ms: frameMs,
    phases,
    ramp,
  };
  if (values.json) console.log(JSON.stringify(report));
  else {
    for (const p of phases) console.log(phaseText(p) + "\n");
    if (ramp) {
      console.log(
        `ramp: ${ramp.best_streams} stream(s) held p95 ≤ ${targetMs} ms` +
          (ramp.first_failure !== null ? `; ${ramp.first_failure} did not` : "") +
          (ramp.capped ? ` (the --max-streams cap; more may hold)` : ""),
      );
    }
  }
  // In a ramp, missing the target is the point; only failures of the plain run fail the command.
  const failed = values.ramp
    ? false
    : phases.some((p) =>
      p.connect_failures.count > 0 || p.abnormal_streams > 0 ||
      Object.keys(p.errors).length > 0
    );
  return failed ? 1 : 0;
}

function phaseText(p: PhaseReport): string {
  const errs = Object.entries(p.errors).map(([k, v]) => `${k} ×${v}`).join(", ") || "none";
  const closes = Object.entries(p.closes).map(([k, v]) => `${k} ×${v}`).join(", ") || "none";
  return table([
    ["streams", `${p.connected}/${p.streams} connected, ${p.duration_s} s of audio each`],
    ["partial latency", `${summaryLine(p.partial_latency_ms)} (basis: ${p.partial_latency_basis})`],
    ["EOS → final", `${summaryLine(p.eos_to_final_ms)}; ${p.finals_missing} missing`],
    [
      "real-time factor",
      `${p.realtime_factor_per_stream} per stream (${p.throughput_x_realtime}× real time in all; ${p.audio_seconds_sent} s of audio in ${p.wall_seconds} s)`,
    ],
    ["errors", errs],
    ["closes", `${closes}; abnormal ${p.abnormal_streams}`],
    [
      "connect failures",
      p.connect_failures.count
        ? `${p.connect_failures.count}: ${p.connect_failures.first}`
        : "none",
    ],
    ["client send slip", `max ${p.max_send_slip_ms} ms`],
  ]);
}
