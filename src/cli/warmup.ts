import { parseArgs } from "node:util";
import { summarize } from "../client/latency_stats.ts";
import { loadClipPcm16 } from "../client/load_clip.ts";
import { frameBytesFor } from "../client/pcm.ts";
import { ms, summaryLine, table } from "../client/report.ts";
import { shownUrl } from "../client/auth_header.ts";
import { fetchServerInfo, parseWsUrl } from "../client/server_url.ts";
import { runStream } from "../client/stream_runner.ts";
import { reportOutcome } from "./client.ts";
import { numberOption, tokenOption } from "./client_options.ts";
import { asUsageError, UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server warmup --file F [options]

Latency probe: streams a file (by default ten times faster than real time, which also warms the
server up) and reports the time to the first partial, each partial's latency and EOS → final.

Options:
  --file F            audio file (any format readAudioFile reads; resampled to 16 kHz)
  --url URL           server WebSocket (default ws://127.0.0.1:8000/ws)
  --token T           the server's token (its AUTH_TOKEN), sent as Authorization: Bearer on
                      every request (env PARAKEET_TOKEN; --token wins)
  --rtf X             sending speed (default 10; 1 = real time, 0 = unpaced)
  --frame-ms N        audio per frame in ms (default 20)
  --print-partials    print every partial with its arrival time, audio covered and latency
  --json              the report as one JSON object
  -h, --help          this help

Measures (ms, from this client's clock):
  first partial       first audio frame sent → first partial received
  partial latency     partial received − when the last byte of the audio it covers was sent;
                      "covers" = the end of the step that produced it plus its right context
                      (STEP_MS, RIGHT_CONTEXT_MS from /v1/status), located from the partial's
                      word times (docs/clients.md)
  EOS → final         EOS sent → final received`;

const FINAL_TIMEOUT_MS = 60_000;

export async function warmupCommand(args: string[]): Promise<number> {
  const parsed = asUsageError(() =>
    parseArgs({
      args,
      options: {
        file: { type: "string" },
        url: { type: "string", default: "ws://127.0.0.1:8000/ws" },
        token: { type: "string" },
        rtf: { type: "string", default: "10" },
        "frame-ms": { type: "string", default: "20" },
        "print-partials": { type: "boolean", default: false },
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
  if (!values.file) throw new UsageError("--file is required (the audio file to stream)");
  const url = asUsageError(() => parseWsUrl(values.url));
  const rtf = numberOption(values.rtf, "--rtf", 0, 1000);
  const frameMs = numberOption(values["frame-ms"], "--frame-ms", 1, 60_000);
  const token = tokenOption(values.token);
  const { pcm, seconds } = await loadClipPcm16(values.file);
  const info = await fetchServerInfo(url, { token });
  const print = values["print-partials"] && !values.json;

  const t0 = performance.now();
  const result = await runStream({
    url: url.href,
    token,
    clip: pcm,
    totalBytes: pcm.length,
    frameBytes: frameBytesFor(frameMs),
    rtf,
    knobs: info.knobs,
    finalTimeoutMs: FINAL_TIMEOUT_MS,
    onPartial: (p) => {
      if (!print) return;
      console.log(
        `+${Math.round(p.sinceStartMs)} ms  audio ${(p.coveredMs / 1000).toFixed(2)} s  latency ${
          ms(p.latencyMs)
        }  ${p.text}`,
      );
    },
  });
  const code = reportOutcome(result, shownUrl(url));
  if (result.connectError !== null) return code;

  const start = result.firstSendAt ?? result.openedAt ?? 0;
  const first = result.partials[0];
  const final = result.finals[0];
  const latency = summarize(result.partials.map((p) => p.latencyMs));
  const report = {
    file: values.file,
    audio_seconds: Math.round(seconds * 1000) / 1000,
    url: shownUrl(url),
    rtf,
    frame_ms: frameMs,
    knobs: { STEP_MS: info.knobs.stepMs, RIGHT_CONTEXT_MS: info.knobs.rightContextMs },
    knobs_source: info.knobsSource,
    connect_ms: result.openedAt === null ? null : round1(result.openedAt - t0),
    first_partial_ms: first ? round1(first.at - start) : null,
    first_partial_audio_ms: first ? round1(first.coveredMs) : null,
    partials: result.partials.length,
    partial_latency_ms: latency,
    partial_latency_basis: result.partials.some((p) => p.basis === "sent") ? "sent" : "words",
    eos_to_final_ms: final ? round1(final.eosToFinalMs) : null,
    total_ms: round1(result.endedAt - start),
    final_text: final?.text ?? null,
    errors: result.errors.map((e) => ({ code: e.code, message: e.message })),
    close_code: result.closeCode,
  };
  if (values.json) {
    console.log(JSON.stringify(report));
  } else {
    console.log(table([
      [
        "audio",
        `${report.audio_seconds} s sent at ${rtf === 0 ? "full speed" : `${rtf}× real time`}`,
      ],
      [
        "knobs",
        `STEP_MS ${info.knobs.stepMs}, RIGHT_CONTEXT_MS ${info.knobs.rightContextMs} (${info.knobsSource})`,
      ],
      ["connect", ms(report.connect_ms)],
      [
        "first partial",
        `${ms(report.first_partial_ms)} (covering ${ms(report.first_partial_audio_ms)} of audio)`,
      ],
      ["partial latency", summaryLine(latency)],
      ["EOS → final", ms(report.eos_to_final_ms)],
      ["total", ms(report.total_ms)],
      ["final", report.final_text ?? "(none)"],
    ]));
  }
  return code;
}

const round1 = (x: number) => Math.round(x * 10) / 10;
