import { parseArgs } from "node:util";
import { LiveLine, tailToWidth } from "../client/live_line.ts";
import { loadClipPcm16 } from "../client/load_clip.ts";
import { frameBytesFor } from "../client/pcm.ts";
import { shownUrl } from "../client/auth_header.ts";
import { fetchServerInfo, parseWsUrl } from "../client/server_url.ts";
import { runStream, type StreamResult } from "../client/stream_runner.ts";
import { numberOption, tokenOption } from "./client_options.ts";
import { asUsageError, UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server client --file F [options]

Streams an audio file to a running server as a microphone would (PCM16 16 kHz frames, paced),
shows the partial transcripts as they arrive and prints the final one.

Options:
  --file F          audio file (WAV read directly, other formats through ffmpeg; resampled)
  --url URL         server WebSocket (default ws://127.0.0.1:8000/ws)
  --token T         the server's token (its AUTH_TOKEN), sent as Authorization: Bearer on
                    every request (env PARAKEET_TOKEN; --token wins)
  --rtf X           sending speed: 1 = real time (default), 10 = ten times faster, 0 = unpaced
  --frame-ms N      audio per WebSocket frame in ms (default 20)
  --full-text       never shorten text: on a terminal, each partial gets its own line instead
                    of one line rewritten in place and cut to the terminal's width
  -h, --help        this help

Output (stdout): "partial: <text>" lines (one line updated in place on a terminal), then
"final: <text>", always whole. Exit code 0 once the final arrived and the connection closed
normally; 1 on a server error message, a connection that cannot be opened or that the server
closes, or an unreadable file; 2 on a bad option.`;

const DEFAULT_URL = "ws://127.0.0.1:8000/ws";
/** A final should follow EOS within a step's compute; this bounds a server that never answers. */
const FINAL_TIMEOUT_MS = 60_000;

export async function clientCommand(args: string[]): Promise<number> {
  const parsed = asUsageError(() =>
    parseArgs({
      args,
      options: {
        file: { type: "string" },
        url: { type: "string", default: DEFAULT_URL },
        token: { type: "string" },
        rtf: { type: "string", default: "1" },
        "frame-ms": { type: "string", default: "20" },
        "full-text": { type: "boolean", default: false },
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
  const { pcm } = await loadClipPcm16(values.file);
  const info = await fetchServerInfo(url, { token });

  const line = new LiveLine(Deno.stdout);
  const full = values["full-text"];
  const show = (label: string, text: string) => {
    const s = `${label}: ${text}`;
    if (!line.tty) line.update(s);
    else if (full) line.print(s);
    else line.update(tailToWidth(s, line.width - 1));
  };
  const result = await runStream({
    url: url.href,
    token,
    clip: pcm,
    totalBytes: pcm.length,
    frameBytes: frameBytesFor(frameMs),
    rtf,
    knobs: info.knobs,
    finalTimeoutMs: FINAL_TIMEOUT_MS,
    onPartial: (p) => show("partial", p.text),
    onFinal: (f) => line.print(`final: ${f.text}`),
    onError: (e) => {
      line.done();
      console.error(`server error ${e.code}: ${e.message}`);
    },
  });
  line.done();
  return reportOutcome(result, shownUrl(url));
}

/** Says on stderr what went wrong, if anything; the exit code. */
export function reportOutcome(result: StreamResult, url: string): number {
  if (result.connectError !== null) {
    // The handshake's status is all a refused WebSocket tells; 401 means no token or a wrong one.
    const hint = /\b401\b/.test(result.connectError)
      ? "the server wants its token: --token or PARAKEET_TOKEN"
      : "is the server running there?";
    console.error(`error: cannot connect to ${url}: ${result.connectError} (${hint})`);
    return 1;
  }
  let failed = result.errors.length > 0;
  if (result.abnormal) {
    failed = true;
    const missing = result.utterancesSent - result.finals.length;
    const close = result.closeCode === null
      ? "the close handshake did not complete"
      : `close code ${result.closeCode}${result.closeReason ? ` (${result.closeReason})` : ""}`;
    console.error(
      `error: the connection ended abnormally: ${close}` +
        (missing > 0 ? `; ${missing} final(s) never arrived` : ""),
    );
  }
  return failed ? 1 : 0;
}
