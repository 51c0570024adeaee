import { ConfigError, knobHelp, loadServerConfig, type ServerConfig } from "../server/config.ts";
import type { InferencePool } from "../engine/inference_pool.ts";
import { launchServer, logLine } from "../server/launch.ts";
import type { RunningServer } from "../server/server.ts";
import { describePendingWork, SHUTDOWN_SIGNALS, ShutdownOnSignal } from "./shutdown_on_signal.ts";
import { UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server serve [--knob value …]

Serves streaming speech-to-text over WebSocket (ws://HOST:PORT/ws), with GET /status (health)
and GET /v1/status (JSON state). Every knob is an environment variable or the flag beside it;
flags win.

Without MODEL, the small demo model bundled in models/demo is served (the OFFLINE DEFAULT):
it recognises spoken digits and nothing else, the log says so loudly and /v1/status reports
"bundled": true. scripts/main.sh fetches Parakeet-TDT-0.6B-v3 first and falls back to it only
when MODEL is unset and the hub is unreachable; an explicit MODEL never falls back (a missing
directory stops the server). Fetch the real model with: parakeet-server fetch-model

Knobs:
${knobHelp()}`;

export async function serveCommand(args: string[]): Promise<number> {
  if (args.includes("--help") || args.includes("-h")) {
    console.log(HELP);
    return 0;
  }
  let config: ServerConfig;
  try {
    config = loadServerConfig(Deno.env.toObject(), args);
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
  const stop = new AbortController();
  let running: { server: RunningServer; engine: InferencePool } | undefined;
  // Listening from the start: a signal while the model loads stops the server once it is up,
  // within the same deadline, instead of killing the process mid-load.
  const shutdown = new ShutdownOnSignal({
    drain: () => stop.abort(),
    pending: () =>
      running ? describePendingWork(running.server.pending()) : ["the model still loading"],
    exit: (code) => Deno.exit(code),
    log: logLine,
  }, config.shutdownTimeoutS * 1000);
  const listeners = SHUTDOWN_SIGNALS.map((signal) => {
    const listener = () => shutdown.receive(signal);
    Deno.addSignalListener(signal, listener);
    return { signal, listener };
  });
  try {
    running = await launchServer(config, { signal: stop.signal }).catch((err) => {
      throw err instanceof ConfigError ? new UsageError(err.message) : err;
    });
    if (stop.signal.aborted) void running.server.shutdown();
    await running.server.finished;
    await running.engine.close();
  } finally {
    for (const { signal, listener } of listeners) Deno.removeSignalListener(signal, listener);
    shutdown[Symbol.dispose]();
  }
  const code = shutdown.finish();
  logLine(`stopped (exit ${code})`);
  return code;
}
