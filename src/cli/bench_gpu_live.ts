/**
 * `bench gpu --live`: a server started on the device being measured, then real-time streams
 * ramped against it as `bench --ramp` does, to set the streams actually held beside the
 * encoder-only limit.
 */
import { DeviceUnavailableError } from "../../ffi/mod.ts";
import { spawnServer, stopServer } from "../bench/server_process.ts";
import { type BenchInput, describeBenchInput, loadRunner, runRamp } from "../bench/load.ts";
import type { LiveLine } from "../client/live_line.ts";
import { fetchServerInfo } from "../client/server_url.ts";

export interface LiveOptions {
  durationS: number;
  maxStreams: number;
  maxPhases: number;
  input: BenchInput;
}

/** What the server is started with: the model, device and window of the encoder measurement. */
export interface LiveServer {
  modelDir: string;
  device: "cuda" | "cpu";
  precision: "fp32" | "int8";
  knobs: { STEP_MS: number; LEFT_CONTEXT_MS: number; RIGHT_CONTEXT_MS: number };
}

/** Runs the ramp and returns its part of the report; the server is stopped whatever happens. */
export async function runLive(
  live: LiveOptions,
  { modelDir, device, precision, knobs }: LiveServer,
  progress: LiveLine,
  say: (line: string) => void,
): Promise<Record<string, unknown>> {
  say(`--live: starting a server on ${device}`);
  const server = await spawnServer({
    MODEL: modelDir,
    DEVICE: device,
    PRECISION: precision,
    STEP_MS: String(knobs.STEP_MS),
    LEFT_CONTEXT_MS: String(knobs.LEFT_CONTEXT_MS),
    RIGHT_CONTEXT_MS: String(knobs.RIGHT_CONTEXT_MS),
    MAX_STREAMS: String(Math.max(live.maxStreams, 128)),
    // Every bench stream comes from this one address.
    MAX_STREAMS_PER_CLIENT: String(Math.max(live.maxStreams, 128)),
    // The bench client sends no token and no Origin: access control stays off.
    AUTH_TOKEN: "",
    AUTH_TOKEN_FILE: "",
    ALLOWED_ORIGINS: "",
  });
  try {
    const url = new URL(`ws://127.0.0.1:${server.port}/ws`);
    const info = await fetchServerInfo(url);
    const targetMs = knobs.STEP_MS + 100;
    const run = loadRunner({
      url: url.href,
      input: live.input,
      durationS: live.durationS,
      frameMs: 20,
      knobs: info.knobs,
      progress,
      label: "bench gpu --live",
    });
    const { phases, ramp } = await runRamp(
      run,
      { start: 1, max: live.maxStreams, maxPhases: live.maxPhases, targetMs },
      (v) => say(`--live: ${v.streams} streams ${v.held ? "held" : "missed"} (${v.why})`),
    );
    const serverDevice = (info.status?.model as Record<string, unknown> | undefined)?.device;
    if (serverDevice !== device) {
      throw new DeviceUnavailableError(
        `--live: the server reports device ${JSON.stringify(serverDevice)}, not ${device}`,
      );
    }
    return {
      server_device: serverDevice,
      server_knobs: info.status?.knobs ?? null,
      input: describeBenchInput(live.input),
      duration_s: live.durationS,
      ramp,
      phases,
    };
  } finally {
    await stopServer(server);
  }
}
