/**
 * The server's knobs: one table, each knob an environment variable and a flag of the same name
 * (`STEP_MS` ↔ `--step-ms`), validated at start. A bad value stops the server with a message
 * that names the knob, the value and what it accepts. `--help` prints the table.
 */
export interface ServerConfig {
  host: string;
  port: number;
  model: string | null;
  precision: "fp32" | "int8";
  device: "auto" | "cuda" | "cpu";
  ortLib: string | null;
  ortThreads: number;
  ortSpin: number;
  inferenceLanes: number;
  cudaDeviceId: number;
  cudaTf32: number;
  cudaCudnnConvAlgoSearch: "EXHAUSTIVE" | "HEURISTIC" | "DEFAULT";
  cudaArenaExtendStrategy: "kNextPowerOfTwo" | "kSameAsRequested";
  stepMs: number;
  rightContextMs: number;
  leftContextMs: number;
  tentative: number;
  endpointMs: number;
  partialMaxWords: number;
  /** Knobs given by a flag or the environment (the rest have their defaults). */
  explicitKnobs: ReadonlySet<string>;
  maxBatch: number;
  warmupBatch: number;
  maxInflightSteps: number;
  /** A number, or "auto": as many as the device holds (server/capacity.ts). */
  maxStreams: number | "auto";
  maxStreamsPerClient: number;
  maxFrameBytes: number;
  maxTextBytes: number;
  maxBacklogS: number;
  maxMessagesPerS: number;
  idleTimeoutS: number;
  sessionMaxS: number;
  slowConsumerBytes: number;
  slowConsumerS: number;
  closeTimeoutS: number;
  inferenceTimeoutS: number;
  shutdownTimeoutS: number;
  maxEncodedStreams: number;
  maxEncodedBacklogBytes: number;
  maxUploadBytes: number;
  maxUploads: number;
  maxUploadS: number;
  uploadDecodeTimeoutS: number;
  fileChunkS: number;
  maxConnections: number;
  maxConnectionsPerClient: number;
  headerTimeoutS: number;
  bodyTimeoutS: number;
  bodyMinBytesPerS: number;
  keepAliveTimeoutS: number;
  authToken: string | null;
  authTokenFile: string | null;
  allowedOrigins: string | null;
  authMaxFailures: number;
  trustedProxies: string | null;
  wyomingPort: number | null;
  wyomingHost: string | null;
  wyomingMaxConnections: number;
  wyomingMaxConnectionsPerClient: number;
  wyomingLanguages: string;
}

type Kind = "int" | "string" | "enum";

interface Knob {
  env: string;
  key: keyof ServerConfig;
  kind: Kind;
  default: string | number | null;
  help: string;
  min?: number;
  max?: number;
  /** Must be a multiple of this (encoder frames are 80 ms). */
  multipleOf?: number;
  choices?: readonly string[];
  /** An int knob that also takes the word `auto`. */
  auto?: true;
}

// deno-fmt-ignore
export const KNOBS: readonly Knob[] = [
  { env: "HOST", key: "host", kind: "string", default: "0.0.0.0", help: "address to listen on" },
  { env: "PORT", key: "port", kind: "int", default: 8000, min: 0, max: 65535, help: "TCP port (0: any free port)" },
  { env: "MODEL", key: "model", kind: "string", default: null, help: "model directory (default: the bundled demo model, models/demo: spoken digits only)" },
  { env: "PRECISION", key: "precision", kind: "enum", default: "fp32", choices: ["fp32", "int8"], help: "model weights: fp32, or the int8 export" },
  { env: "DEVICE", key: "device", kind: "enum", default: "auto", choices: ["auto", "cuda", "cpu"], help: "auto tries CUDA, falls back to CPU with a warning" },
  { env: "ORT_LIB", key: "ortLib", kind: "string", default: null, help: "libonnxruntime.so.1 file or directory (default: .tools/lib, then the system)" },
  { env: "ORT_THREADS", key: "ortThreads", kind: "int", default: 0, min: 0, max: 256, help: "ONNX Runtime intra-op threads in all, shared out among the inference lanes (0: one per core)" },
  { env: "INFERENCE_LANES", key: "inferenceLanes", kind: "int", default: 0, min: 0, max: 16, help: "inference workers, each with its own ONNX Runtime session and copy of the weights, each running one batch at a time (0: two on a CPU of two or more cores, one on a GPU; 1 halves the memory)" },
  { env: "ORT_SPIN", key: "ortSpin", kind: "int", default: 0, min: 0, max: 1, help: "1: ONNX Runtime's CPU threads spin while waiting for work (its default; a little faster alone, but they hold the cores the server's own work needs); 0: they sleep" },
  { env: "CUDA_DEVICE_ID", key: "cudaDeviceId", kind: "int", default: 0, min: 0, max: 255, help: "GPU ordinal with DEVICE=cuda or auto (one server process per GPU)" },
  { env: "CUDA_TF32", key: "cudaTf32", kind: "int", default: 1, min: 0, max: 1, help: "1: TF32 Tensor Core math for fp32 MatMuls and convolutions (ONNX Runtime's default); 0: full fp32, slower" },
  { env: "CUDA_CUDNN_CONV_ALGO_SEARCH", key: "cudaCudnnConvAlgoSearch", kind: "enum", default: "HEURISTIC", choices: ["EXHAUSTIVE", "HEURISTIC", "DEFAULT"], help: "how cuDNN picks convolution algorithms: HEURISTIC without benchmarking; EXHAUSTIVE times every one at each new input shape (a stall on each new batch size)" },
  { env: "CUDA_ARENA_EXTEND_STRATEGY", key: "cudaArenaExtendStrategy", kind: "enum", default: "kSameAsRequested", choices: ["kNextPowerOfTwo", "kSameAsRequested"], help: "how the GPU memory arena grows: by what is asked (kSameAsRequested) or to the next power of two" },
  { env: "STEP_MS", key: "stepMs", kind: "int", default: 240, min: 80, max: 10_000, multipleOf: 80, help: "audio decoded per step (latency vs compute)" },
  { env: "RIGHT_CONTEXT_MS", key: "rightContextMs", kind: "int", default: 160, min: 0, max: 60_000, multipleOf: 80, help: "look-ahead each step waits for (latency vs accuracy)" },
  { env: "LEFT_CONTEXT_MS", key: "leftContextMs", kind: "int", default: 2000, min: 0, max: 60_000, multipleOf: 80, help: "past audio re-encoded each step (accuracy vs compute)" },
  { env: "TENTATIVE", key: "tentative", kind: "int", default: 1, min: 0, max: 1, help: "1: decode the right context speculatively for sooner partial words (partials gain stable/tentative text)" },
  { env: "ENDPOINT_MS", key: "endpointMs", kind: "int", default: 0, min: 0, max: 60_000, help: "close a segment after this much trailing non-speech (0: off; per stream: /ws?endpoint_ms=)" },
  { env: "PARTIAL_MAX_WORDS", key: "partialMaxWords", kind: "int", default: 100, min: 0, max: 100_000, help: "most words a partial repeats; older ones are left out and text_offset says so (0: all)" },
  { env: "MAX_BATCH", key: "maxBatch", kind: "int", default: 32, min: 1, max: 1024, help: "encoder windows per batch" },
  { env: "WARMUP_BATCH", key: "warmupBatch", kind: "int", default: 32, min: 0, max: 1024, help: "windows in one batch run at start, so memory reaches its high-water mark before the first stream (capped at MAX_BATCH; 0: off)" },
  { env: "MAX_INFLIGHT_STEPS", key: "maxInflightSteps", kind: "int", default: 1, min: 1, max: 64, help: "batches running at once per inference lane" },
  { env: "MAX_STREAMS", key: "maxStreams", kind: "int", default: "auto", auto: true, min: 1, max: 100_000, help: "open streams; more get HTTP 503 with Retry-After (auto: as many as this device holds at p95 partial latency ≤ STEP_MS + 100 ms, measured at start and again when serving costs drift)" },
  { env: "MAX_STREAMS_PER_CLIENT", key: "maxStreamsPerClient", kind: "int", default: 16, min: 1, max: 100_000, help: "open streams per client address; more get HTTP 503 (behind a proxy, set TRUSTED_PROXIES or every client counts as the proxy)" },
  { env: "MAX_FRAME_BYTES", key: "maxFrameBytes", kind: "int", default: 1_048_576, min: 2, max: 64 * 1_048_576, help: "largest binary message (→ 1009)" },
  { env: "MAX_TEXT_BYTES", key: "maxTextBytes", kind: "int", default: 4096, min: 64, max: 1_048_576, help: "largest text message (→ 1009)" },
  { env: "MAX_BACKLOG_S", key: "maxBacklogS", kind: "int", default: 120, min: 1, max: 3600, help: "seconds of audio waiting for the decoder (→ rate_exceeded)" },
  { env: "MAX_MESSAGES_PER_S", key: "maxMessagesPerS", kind: "int", default: 1000, min: 1, max: 1_000_000, help: "messages per second per stream (→ message_rate_exceeded)" },
  { env: "IDLE_TIMEOUT_S", key: "idleTimeoutS", kind: "int", default: 30, min: 1, max: 86_400, help: "seconds without audio; keepalive messages do not count (→ pending speech gets its final, then idle_timeout)" },
  { env: "SESSION_MAX_S", key: "sessionMaxS", kind: "int", default: 10_800, min: 1, max: 604_800, help: "longest connection (→ final, then session_timeout)" },
  { env: "SLOW_CONSUMER_BYTES", key: "slowConsumerBytes", kind: "int", default: 1_048_576, min: 1024, max: 1 << 30, help: "unsent bytes before partials are dropped" },
  { env: "SLOW_CONSUMER_S", key: "slowConsumerS", kind: "int", default: 10, min: 1, max: 3600, help: "seconds over that mark before closing (→ slow_consumer)" },
  { env: "CLOSE_TIMEOUT_S", key: "closeTimeoutS", kind: "int", default: 10, min: 1, max: 600, help: "release a stream this long after close() even if the peer never answers" },
  { env: "INFERENCE_TIMEOUT_S", key: "inferenceTimeoutS", kind: "int", default: 60, min: 1, max: 3600, help: "a batch running longer fails its streams (1011)" },
  { env: "MAX_ENCODED_STREAMS", key: "maxEncodedStreams", kind: "int", default: 8, min: 1, max: 10_000, help: "/ws streams of compressed audio (?encoding=ogg, webm or mp3) open at once, each with one ffmpeg decoder; more get HTTP 503" },
  { env: "MAX_ENCODED_BACKLOG_BYTES", key: "maxEncodedBacklogBytes", kind: "int", default: 1_048_576, min: 1024, max: 1 << 30, help: "compressed bytes of one stream waiting for its ffmpeg to read them (→ rate_exceeded)" },
  { env: "MAX_UPLOAD_BYTES", key: "maxUploadBytes", kind: "int", default: 104_857_600, min: 1024, max: 4 * 1_073_741_824, help: "largest file for POST /v1/audio/transcriptions (→ 413)" },
  { env: "MAX_UPLOADS", key: "maxUploads", kind: "int", default: 4, min: 1, max: 1024, help: "files transcribed at once over HTTP (→ 503)" },
  { env: "MAX_UPLOAD_S", key: "maxUploadS", kind: "int", default: 10_800, min: 1, max: 86_400, help: "longest decoded audio of an uploaded file, checked while decoding (→ 413 audio_too_long); each upload holds up to 64 KB per second of it" },
  { env: "UPLOAD_DECODE_TIMEOUT_S", key: "uploadDecodeTimeoutS", kind: "int", default: 120, min: 1, max: 3600, help: "wall-clock time, and CPU seconds, ffmpeg may spend decoding one upload; then it is killed (→ 422 decode_timeout)" },
  { env: "FILE_CHUNK_S", key: "fileChunkS", kind: "int", default: 8, min: 1, max: 60, help: "uploaded files are decoded in chunks of this length, rounded to whole encoder frames (80 ms), with LEFT_CONTEXT_MS before and 2 s after; the window must fit the model's positional table" },
  { env: "MAX_CONNECTIONS", key: "maxConnections", kind: "int", default: 1024, min: 1, max: 1_000_000, help: "open TCP connections, HTTP and WebSocket (kept below 3/4 of the open-file limit); more get HTTP 503" },
  { env: "MAX_CONNECTIONS_PER_CLIENT", key: "maxConnectionsPerClient", kind: "int", default: 128, min: 1, max: 1_000_000, help: "open connections from one client address (behind a proxy: raise it to MAX_CONNECTIONS); more get HTTP 503" },
  { env: "HEADER_TIMEOUT_S", key: "headerTimeoutS", kind: "int", default: 10, min: 1, max: 3600, help: "a connection must send a complete request head this soon (after accept, or after its first byte when kept alive), or is closed" },
  { env: "BODY_TIMEOUT_S", key: "bodyTimeoutS", kind: "int", default: 30, min: 1, max: 3600, help: "longest pause in a request body (and in reading a response); after the first BODY_TIMEOUT_S a body must also average BODY_MIN_BYTES_PER_S" },
  { env: "BODY_MIN_BYTES_PER_S", key: "bodyMinBytesPerS", kind: "int", default: 4096, min: 1, max: 1 << 30, help: "slowest average pace of a request body (4096: a 100 MB upload may take 7 h)" },
  { env: "KEEPALIVE_TIMEOUT_S", key: "keepAliveTimeoutS", kind: "int", default: 5, min: 1, max: 3600, help: "an idle kept-alive HTTP connection is closed after this long" },
  { env: "AUTH_TOKEN", key: "authToken", kind: "string", default: null, help: "token required on every route but /status, /ready and the demo page (unset: no auth); prefer the env var to the flag, which ps shows" },
  { env: "AUTH_TOKEN_FILE", key: "authTokenFile", kind: "string", default: null, help: "file of accepted tokens, one per line (# comments skipped), read at start" },
  { env: "ALLOWED_ORIGINS", key: "allowedOrigins", kind: "string", default: null, help: "comma list of other web origins browsers may connect from, e.g. https://app.example.com, or * for any (unset: only this server's own pages; others get 403)" },
  { env: "AUTH_MAX_FAILURES", key: "authMaxFailures", kind: "int", default: 10, min: 1, max: 1_000_000, help: "wrong tokens per client address per minute; then 429 with Retry-After, tokens not even compared, until the minute ends" },
  { env: "TRUSTED_PROXIES", key: "trustedProxies", kind: "string", default: null, help: "comma list of proxy IP addresses (e.g. 127.0.0.1) whose X-Forwarded-For names the client, for the per-client limits (unset: the connection's address)" },
  { env: "WYOMING_PORT", key: "wyomingPort", kind: "int", default: null, min: 0, max: 65535, help: "TCP port of the Wyoming protocol listener, for Home Assistant's voice pipeline (unset: off; 0: any free port); no token is asked on it" },
  { env: "WYOMING_HOST", key: "wyomingHost", kind: "string", default: null, help: "address the Wyoming listener binds (default: HOST)" },
  { env: "WYOMING_MAX_CONNECTIONS", key: "wyomingMaxConnections", kind: "int", default: 16, min: 1, max: 100_000, help: "open Wyoming connections, counted apart from MAX_STREAMS; more are told error (capacity) and closed" },
  { env: "WYOMING_MAX_CONNECTIONS_PER_CLIENT", key: "wyomingMaxConnectionsPerClient", kind: "int", default: 4, min: 1, max: 100_000, help: "open Wyoming connections per peer address (the protocol has no token); over it: error capacity" },
  { env: "WYOMING_LANGUAGES", key: "wyomingLanguages", kind: "string", default: "en", help: "comma list of language tags the Wyoming info announces for the model" },
  { env: "SHUTDOWN_TIMEOUT_S", key: "shutdownTimeoutS", kind: "int", default: 30, min: 1, max: 3600, help: "on SIGTERM, SIGINT or SIGHUP: finals flushed, requests answered 503, exit within this (0; 1 if cut off)" },
];

export class ConfigError extends Error {
  override name = "ConfigError";
}

export function flagName(knob: Knob): string {
  return "--" + knob.env.toLowerCase().replaceAll("_", "-");
}

/**
 * Reads every knob from the flags (highest precedence) or the environment, else its default.
 * `args` are `--knob value` or `--knob=value` pairs; anything else is an error.
 */
export function loadServerConfig(
  env: Record<string, string | undefined>,
  args: readonly string[] = [],
): ServerConfig {
  const flags = new Map<string, string>();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.indexOf("=");
    const name = eq >= 0 ? arg.slice(0, eq) : arg;
    const knob = KNOBS.find((k) => flagName(k) === name);
    if (!knob) throw new ConfigError(`unknown option ${name} (see --help)`);
    let value: string | undefined = eq >= 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new ConfigError(`${name} needs a value`);
    value = value.trim();
    flags.set(knob.env, value);
  }
  const config: Record<string, unknown> = {};
  const explicit = new Set<string>();
  for (const knob of KNOBS) {
    const raw = flags.get(knob.env) ?? env[knob.env];
    if (raw !== undefined && raw !== "") explicit.add(knob.env);
    const source = flags.has(knob.env) ? flagName(knob) : knob.env;
    config[knob.key] = raw === undefined || raw === ""
      ? knob.default
      : parseKnob(knob, raw, source);
  }
  config.explicitKnobs = explicit;
  return config as unknown as ServerConfig;
}

/** Knobs a model directory may set for itself (config.json `streaming_defaults`). */
export const MODEL_DEFAULT_KNOBS = ["STEP_MS", "RIGHT_CONTEXT_MS", "LEFT_CONTEXT_MS"] as const;

/**
 * A model's own streaming defaults (the knobs its accuracy was measured with), for every knob
 * the operator did not set: flags and the environment always win. Returns the new config and
 * the knobs taken from the model; a bad value is a ConfigError naming `source`.
 */
export function applyModelDefaults(
  config: ServerConfig,
  defaults: unknown,
  source: string,
): { config: ServerConfig; applied: string[] } {
  if (defaults === undefined || defaults === null) return { config, applied: [] };
  if (typeof defaults !== "object" || Array.isArray(defaults)) {
    throw new ConfigError(`${source} must be an object of knob values`);
  }
  const next: Record<string, unknown> = { ...config };
  const applied: string[] = [];
  for (const [env, value] of Object.entries(defaults as Record<string, unknown>)) {
    const knob = KNOBS.find((k) => k.env === env);
    if (!knob || !(MODEL_DEFAULT_KNOBS as readonly string[]).includes(env)) {
      throw new ConfigError(
        `${source}: ${env} is not a knob a model may set (${MODEL_DEFAULT_KNOBS.join(", ")})`,
      );
    }
    if (config.explicitKnobs.has(env)) continue;
    next[knob.key] = parseKnob(knob, String(value), `${source}.${env}`);
    applied.push(`${env}=${value}`);
  }
  return { config: next as unknown as ServerConfig, applied };
}

function parseKnob(knob: Knob, raw: string, source: string): string | number {
  switch (knob.kind) {
    case "string":
      return raw;
    case "enum":
      if (!knob.choices!.includes(raw)) {
        throw new ConfigError(`${source} must be one of ${knob.choices!.join(", ")}, got "${raw}"`);
      }
      return raw;
    case "int": {
      if (knob.auto && raw === "auto") return raw;
      if (!/^\d+$/.test(raw)) {
        throw new ConfigError(
          `${source} must be a whole number${knob.auto ? " or auto" : ""}, got "${raw}"`,
        );
      }
      const n = Number(raw);
      if (n < knob.min! || n > knob.max!) {
        throw new ConfigError(`${source} must be from ${knob.min} to ${knob.max}, got ${n}`);
      }
      if (knob.multipleOf && n % knob.multipleOf !== 0) {
        throw new ConfigError(
          `${source} must be a multiple of ${knob.multipleOf} (one encoder frame is 80 ms), got ${n}`,
        );
      }
      return n;
    }
  }
}

/** The knob table for --help. */
export function knobHelp(): string {
  const rows = KNOBS.map((k) => {
    const def = k.default === null ? "" : ` (default ${k.default})`;
    return `  ${k.env.padEnd(20)} ${flagName(k).padEnd(22)} ${k.help}${def}`;
  });
  return rows.join("\n");
}
