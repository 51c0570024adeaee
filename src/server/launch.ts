/**
 * The composition root: from a loaded configuration to a listening server. Checks what can be
 * checked before the model loads (access policy, window lengths), loads the model into an
 * inference worker, warms it up, and starts the server over it.
 */
import type { CudaOptions } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../audio/log_mel.ts";
import { sweepStaleDecodeDirs } from "../audio/decode_temp.ts";
import type { TdtSpec } from "../decode/joiner.ts";
import { Vocabulary } from "../decode/vocabulary.ts";
import { inferenceLanes, InferencePool, threadsPerLane } from "../engine/inference_pool.ts";
import { measureStepCosts, type StepShape } from "../engine/step_cost.ts";
import { warmUp } from "../engine/warm_up.ts";
import { defaultModelDir } from "../model/demo_model_dir.ts";
import { featureSettings, parseModelConfig } from "../model/model_config.ts";
import { locateModelFiles } from "../model/model_files.ts";
import { encodedLength } from "../model/subsampling.ts";
import { verifyModelLock } from "../model/model_lock.ts";
import type { BatchRunner } from "../stream/batch_scheduler.ts";
import { batchSizesToMeasure } from "../stream/capacity_model.ts";
import type { StepGeometry } from "../stream/step_plan.ts";
import { FILE_CONTEXT_MS, windowTooLong } from "../stream/file_windows.ts";
import { frameGeometry, framesInSeconds } from "../stream/frame_geometry.ts";
import { loadAccessPolicy } from "./auth.ts";
import { type HostCost, LATENCY_SLACK_MS, type MeasuredCosts } from "./capacity.ts";
import { DEFAULT_HOST_COST, measureHostCostPerStep } from "../stream/host_cost.ts";
import { DEFAULT_SOCKET_COST, measureSocketCostPerStep } from "./socket_cost.ts";
import type { StreamContext } from "../stream/stream_session.ts";
import { parseTrustedProxies } from "./client_address.ts";
import { applyModelDefaults, ConfigError, type ServerConfig } from "./config.ts";
import { type RunningServer, startServer } from "./server.ts";

/** A log line on stderr, with the time. */
export function logLine(line: string): void {
  console.error(`${new Date().toISOString()} ${line}`);
}

/** Loads the model into an inference worker and starts serving; resolves once listening. */
export async function launchServer(
  config: ServerConfig,
  opts: {
    signal?: AbortSignal;
    quiet?: boolean;
    /** Where log lines go (default stderr with a timestamp; `quiet` drops them). */
    log?: (line: string) => void;
    /**
     * Tests only: wraps the engine, e.g. to inject model failures or slow it down (the step
     * cost of MAX_STREAMS=auto is measured through it). Not reachable from the CLI.
     */
    wrapRunner?: (engine: BatchRunner) => BatchRunner;
  } = {},
): Promise<{ server: RunningServer; engine: InferencePool }> {
  const log = opts.quiet ? () => {} : opts.log ?? logLine;
  // Before the model loads: a bad token file should stop the server at once.
  const access = loadAccessPolicy(config);
  const proxies = parseTrustedProxies(config.trustedProxies);
  if (proxies.size > 0) {
    log(`clients told apart by X-Forwarded-For from: ${[...proxies].join(", ")}`);
  }
  if (access.tokens.length > 0) {
    log(`access: a token is required (${access.tokens.length} accepted)`);
  }
  if (access.origins === "any") {
    log("access: pages of any web origin may connect (ALLOWED_ORIGINS=*)");
  } else if (access.origins.size > 0) {
    log(`access: pages of these origins may connect too: ${[...access.origins].join(", ")}`);
  }
  const bundled = config.model === null;
  const modelDir = config.model ?? defaultModelDir();
  if (bundled) {
    log(
      `WARNING: no MODEL given: serving the small bundled demo model (${modelDir}). It recognises spoken digits (zero to nine, "oh") and nothing else; it is not Parakeet-TDT-0.6B-v3. Set MODEL, or run: parakeet-server fetch-model`,
    );
  }
  const files = locateModelFiles(modelDir, config.precision);
  const locked = await verifyModelLock(modelDir);
  if (locked.lock) {
    log(
      `model.lock.json: revision ${locked.lock.revision}, ${
        locked.hashed.length + locked.sized.length
      } file(s) as fetched`,
    );
  }
  const modelConfig = parseModelConfig(Deno.readTextFileSync(files.config), files.config);
  const own = applyModelDefaults(
    config,
    modelConfig.streamingDefaults,
    `${files.config} streaming_defaults`,
  );
  config = own.config;
  if (own.applied.length > 0) {
    log(
      `knobs from the model's streaming_defaults (flags and the environment override them): ${
        own.applied.join(" ")
      }`,
    );
  }
  const frames = frameGeometry(config, modelConfig);
  const geometry = frames.stream;
  // Before the model loads: a window the encoder cannot attend over would only fail at warm-up
  // (or, without warm-up, on the first stream) with ONNX Runtime's broadcast error.
  const tooLong = windowTooLong(
    geometry,
    modelConfig.maxEncoderFrames,
    `LEFT_CONTEXT_MS ${config.leftContextMs} + STEP_MS ${config.stepMs} + RIGHT_CONTEXT_MS ${config.rightContextMs}`,
    modelConfig.windowStride,
  ) ?? windowTooLong(
    frames.upload,
    modelConfig.maxEncoderFrames,
    `LEFT_CONTEXT_MS ${config.leftContextMs} + FILE_CHUNK_S ${config.fileChunkS} + the uploads' ${
      FILE_CONTEXT_MS / 1000
    } s of right context`,
    modelConfig.windowStride,
  );
  if (tooLong) throw new ConfigError(tooLong);
  const vocab = Vocabulary.parse(Deno.readTextFileSync(files.vocab), files.vocab);
  const cores = navigator.hardwareConcurrency;
  // The threads are set before DEVICE=auto settles the device: shared out as for a CPU then.
  const laneThreads = threadsPerLane(
    config.ortThreads,
    inferenceLanes(config.inferenceLanes, config.device === "cuda" ? "cuda" : "cpu", cores),
    cores,
  );
  const engine = await InferencePool.start(
    {
      modelDir,
      precision: config.precision,
      device: config.device,
      session: {
        intraOpThreads: laneThreads,
        intraOpSpinning: config.ortSpin === 1,
        cuda: cudaOptions(config),
      },
      libPath: config.ortLib ?? undefined,
    },
    (device) => inferenceLanes(config.inferenceLanes, device, cores),
    {
      deadlineMs: config.inferenceTimeoutS * 1000,
    },
  );
  const lanes = engine.lanes.length;
  for (const w of engine.model.warnings) log(`WARNING: ${w}`);
  log(
    `model ${files.dir} (${config.precision}) on ${engine.model.device}, ONNX Runtime ${engine.model.ortVersion}; ${lanes} inference lane(s) of ${laneThreads} thread(s)`,
  );
  const warmBatch = Math.min(config.warmupBatch, config.maxBatch);
  if (warmBatch > 0) {
    const columns = geometry.leftFrames + geometry.chunkFrames + geometry.rightFrames;
    try {
      // Every lane: each holds its own session, whose memory is what the warm-up settles.
      const ms = Math.max(
        ...await Promise.all(
          engine.lanes.map((lane) =>
            warmUp(lane, engine.model.spec, modelConfig.featuresSize, warmBatch, columns)
          ),
        ),
      );
      log(
        `warm-up: one batch of ${warmBatch} windows × ${columns} frames per lane in ${
          Math.round(ms)
        } ms`,
      );
    } catch (err) {
      await engine.close();
      throw err;
    }
  }
  const runner = opts.wrapRunner ? opts.wrapRunner(engine) : engine;
  let stepCosts: MeasuredCosts | undefined;
  if (config.maxStreams === "auto") {
    try {
      stepCosts = await measureCapacity(
        runner,
        engine.model.spec,
        modelConfig.featuresSize,
        geometry,
        config,
        lanes,
        log,
      );
      stepCosts.host = await measureHost(
        {
          geometry,
          extractor: new LogMelExtractor(featureSettings(modelConfig)),
          spec: engine.model.spec,
          tentative: config.tentative === 1,
          vocab,
          maxBacklogFrames: framesInSeconds(config.maxBacklogS, modelConfig),
          partialMaxWords: config.partialMaxWords,
        },
        config,
        engine.model.device === "cpu" ? "cpu" : "gpu",
        lanes * laneThreads,
        log,
      );
    } catch (err) {
      await engine.close();
      throw new Error(
        `measuring the step cost for MAX_STREAMS=auto failed: ${
          (err as Error).message
        }. Set MAX_STREAMS to a number`,
      );
    }
  }
  // Decode folders of a server killed mid-upload (its `finally` never ran).
  const swept = await sweepStaleDecodeDirs();
  if (swept.length > 0) log(`removed ${swept.length} decode folder(s) left by a stopped server`);
  const server = await listen({
    config,
    runner,
    uploadGeometry: frames.upload,
    context: {
      geometry,
      extractor: new LogMelExtractor(featureSettings(modelConfig)),
      spec: engine.model.spec,
      tentative: config.tentative === 1,
      vocab,
      maxBacklogFrames: framesInSeconds(config.maxBacklogS, modelConfig),
      partialMaxWords: config.partialMaxWords,
    },
    model: {
      dir: files.dir,
      precision: config.precision,
      device: engine.model.device,
      ortVersion: engine.model.ortVersion,
      bundled,
      recognises: modelConfig.recognises ?? null,
    },
    log,
    signal: opts.signal,
    access,
    stepCosts,
    lanes,
    watchWorkerRestarts: (counted) => (engine.onRestart = counted),
  }).catch(async (err) => {
    await engine.close();
    throw err;
  });
  log(`listening on ws://${server.hostname}:${server.port}/ws`);
  return { server, engine };
}

/** The CUDA execution provider's settings from the CUDA_* knobs (unused on the CPU). */
export function cudaOptions(config: ServerConfig): CudaOptions {
  return {
    deviceId: config.cudaDeviceId,
    useTf32: config.cudaTf32 === 1,
    cudnnConvAlgoSearch: config.cudaCudnnConvAlgoSearch,
    arenaExtendStrategy: config.cudaArenaExtendStrategy,
  };
}

/** Where a live stream's window decodes: the chunk, then the right context when TENTATIVE=1. */
function stepShape(g: StepGeometry, tentative: boolean): StepShape {
  const columns = g.leftFrames + g.chunkFrames + g.rightFrames;
  const chunk = { offset: g.leftFrames / g.subsampling, count: g.chunkFrames / g.subsampling };
  const rest = encodedLength(columns, g.subsampling) - chunk.offset - chunk.count;
  return {
    columns,
    chunk,
    tentative: tentative && rest > 0 ? { offset: chunk.offset + chunk.count, count: rest } : null,
  };
}

/**
 * MAX_STREAMS=auto: what a step costs at these knobs on this device, per batch size up to
 * MAX_BATCH, stopping at a size slower than the latency target: two passes of three runs each,
 * the faster pass's median kept per size.
 */
async function measureCapacity(
  runner: BatchRunner,
  spec: TdtSpec,
  featuresSize: number,
  geometry: StepGeometry,
  config: ServerConfig,
  lanes: number,
  log: (line: string) => void,
): Promise<MeasuredCosts> {
  const t0 = performance.now();
  const table = await measureStepCosts(
    runner,
    spec,
    featuresSize,
    stepShape(geometry, config.tentative === 1),
    {
      batches: batchSizesToMeasure(config.maxBatch),
      repetitions: 3,
      passes: 2,
      stopAboveMs: config.stepMs + LATENCY_SLACK_MS,
      concurrency: lanes,
    },
  );
  log(
    `step cost: ${table.map((c) => `batch ${c.batch} ${Math.round(c.ms)} ms`).join(", ")}${
      lanes > 1 ? `, ${lanes} lanes at once` : ""
    } (measured in ${Math.round(performance.now() - t0)} ms)`,
  );
  return { table, at: Date.now(), lanes };
}

/**
 * MAX_STREAMS=auto: one stream's host work per step: its frames, features, bookkeeping and
 * partial run through the server's streaming code in-process, plus its WebSocket traffic over
 * a loopback socket; and the cores that work shares with inference.
 */
async function measureHost(
  context: StreamContext,
  config: ServerConfig,
  device: "cpu" | "gpu",
  ortThreads: number,
  log: (line: string) => void,
): Promise<HostCost> {
  const t0 = performance.now();
  const sessionMs = measureHostCostPerStep(context, {
    stepMs: config.stepMs,
    ...DEFAULT_HOST_COST,
  });
  const frameMs = DEFAULT_HOST_COST.frameMs;
  const socketMs = await measureSocketCostPerStep({
    framesPerStep: Math.max(1, Math.round(config.stepMs / frameMs)),
    frameMs,
    frameBytes: 2 * Math.round(context.extractor.config.sampleRate * frameMs / 1000),
    ...DEFAULT_SOCKET_COST,
  });
  const host = {
    msPerStep: sessionMs + socketMs,
    sessionMs,
    socketMs,
    cores: navigator.hardwareConcurrency,
    ortThreads,
    device,
  };
  log(
    `host cost: ${host.msPerStep.toFixed(2)} ms per stream per step (stream ${
      sessionMs.toFixed(2)
    } ms, socket ${
      socketMs.toFixed(2)
    } ms), ${host.cores} cores, ${ortThreads} ONNX Runtime threads (measured in ${
      Math.round(performance.now() - t0)
    } ms)`,
  );
  return host;
}

/** startServer, with a bind failure told as which address could not be had. */
async function listen(deps: Parameters<typeof startServer>[0]): Promise<RunningServer> {
  try {
    return await startServer(deps);
  } catch (err) {
    if (!(err instanceof Deno.errors.AddrInUse || err instanceof Deno.errors.AddrNotAvailable)) {
      throw err;
    }
    const { host, port } = deps.config;
    throw new Error(
      `cannot listen on ${host}:${port}: ${err.message}; stop what holds it or set PORT/HOST`,
    );
  }
}
