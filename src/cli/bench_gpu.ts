/**
 * `parakeet-server bench gpu`: options, the encoder-only measurement on one device, and the report
 * written atomically; the live ramp (bench_gpu_live.ts) and the report's text and FLOPs
 * (bench_gpu_report.ts) are their own modules.
 */
import { parseArgs } from "node:util";
import { dirname } from "node:path";
import { DeviceUnavailableError, OrtRuntime } from "../../ffi/mod.ts";
import { measureEncoderLimit } from "../bench/encoder_limit.ts";
import { describeDevice, deviceSlug } from "../bench/device_info.ts";
import { describeMachine, loadAverage } from "../bench/machine.ts";
import { loadBenchInput } from "../bench/load.ts";
import { LiveLine } from "../client/live_line.ts";
import { ParakeetModel } from "../model/parakeet_model.ts";
import { ConfigError, KNOBS, loadServerConfig } from "../server/config.ts";
import { intOption, numberOption } from "./client_options.ts";
import { defaultModelDir } from "./common_options.ts";
import { asUsageError, UsageError } from "./usage_error.ts";
import { runLive } from "./bench_gpu_live.ts";
import { describeModel, flopsFor, reportText } from "./bench_gpu_report.ts";
import { decodeStepText, measureDecodeStep } from "./bench_gpu_decode.ts";

const knobDefault = (env: string) => KNOBS.find((k) => k.env === env)!.default;

const HELP = `Usage: parakeet-server bench gpu [options]

The encoder-only capacity of one device for the streaming window: batched encoder calls on
windows of LEFT + STEP + RIGHT ms, timed for each batch size. Reports window-audio seconds per
second, the streams the encoder alone could hold (that ÷ (L+C+R)/C), and the device (nvidia-smi's
name, memory and driver; for the CPU its model and cores). For the full-size model it also reports
the achieved TFLOP/s beside the on-paper estimate of docs/gpu.md. Then the decode step on the same
device: greedy TDT decoding of random encoder frames through the host path (frames, states and all
logits cross per call) and the resident step (values kept on the device by IO binding: only per-row integers cross), bytes per row
per call and row-steps/s for each. The report is written as JSON.

Options:
  --model DIR            model directory (env MODEL; default: serve's model without MODEL)
  --device D             cuda | cpu (default cuda). Never falls back: without a usable CUDA
                         the command exits 1 naming what is missing
  --precision P          fp32 | int8 (default fp32; int8 operators that the CUDA provider lacks
                         run on the CPU)
  --batches LIST         batch sizes, comma-separated (default 1,8,32,64)
  --step-ms N            STEP_MS of the window (default ${knobDefault("STEP_MS")})
  --left-context-ms N    LEFT_CONTEXT_MS (default ${knobDefault("LEFT_CONTEXT_MS")})
  --right-context-ms N   RIGHT_CONTEXT_MS (default ${knobDefault("RIGHT_CONTEXT_MS")})
  --reps N               timed calls per batch size, after one warm-up call (default 5)
  --decode-batches LIST  rows decoded together for the decode step (default 1,8,32)
  --decode-frames N      random encoder frames per row (default 60)
  --decode-seconds S     seconds of decoding per path and batch size (default 3)
  --full-size            count FLOPs as the full-size (0.6B) encoder although config.json does
                         not say size "full" (the published Parakeet-TDT-0.6B export)
  --live                 also start a server on the device (DEVICE, MODEL and the knobs above)
                         and ramp real-time streams, as bench --ramp: the most streams held at
                         p95 partial latency ≤ STEP_MS + 100 ms
  --file F               audio the --live streams send (default: the 440 Hz tone of bench)
  --duration S           seconds of audio per stream in each --live load (default 10)
  --max-streams N        largest --live load (default 256)
  --max-phases N         most --live loads (default 10)
  --out FILE             where the report goes (default bench/results/gpu-<date>-<device>.json)
  --json                 the report as one JSON object on stdout
  -h, --help             this help

The report is written to FILE.tmp-<pid> and renamed, so FILE is never half-written.`;

const LIVE_ONLY = ["file", "duration", "max-streams", "max-phases"] as const;

export async function benchGpuCommand(args: string[]): Promise<number> {
  try {
    return await benchGpu(args);
  } catch (err) {
    // Usage mistakes point at `bench gpu --help`, not at `bench --help`.
    if (err instanceof UsageError) err.command = "bench gpu";
    throw err;
  }
}

async function benchGpu(args: string[]): Promise<number> {
  const { values } = asUsageError(() =>
    parseArgs({
      args,
      options: {
        model: { type: "string" },
        device: { type: "string", default: "cuda" },
        precision: { type: "string", default: "fp32" },
        batches: { type: "string", default: "1,8,32,64" },
        "step-ms": { type: "string" },
        "left-context-ms": { type: "string" },
        "right-context-ms": { type: "string" },
        reps: { type: "string", default: "5" },
        "decode-batches": { type: "string", default: "1,8,32" },
        "decode-frames": { type: "string", default: "60" },
        "decode-seconds": { type: "string", default: "3" },
        "full-size": { type: "boolean", default: false },
        live: { type: "boolean", default: false },
        file: { type: "string" },
        duration: { type: "string" },
        "max-streams": { type: "string" },
        "max-phases": { type: "string" },
        out: { type: "string" },
        json: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const device = values.device;
  if (device !== "cuda" && device !== "cpu") {
    throw new UsageError(
      `--device must be cuda or cpu, got "${device}" (no auto: a benchmark never falls back to another device)`,
    );
  }
  const precision = values.precision;
  if (precision !== "fp32" && precision !== "int8") {
    throw new UsageError(`--precision must be fp32 or int8, got "${precision}"`);
  }
  const batches = parseBatches(values.batches);
  const reps = intOption(values.reps, "--reps", 1, 10_000);
  const decode = {
    batches: parseBatches(values["decode-batches"], "--decode-batches"),
    framesPerRow: intOption(values["decode-frames"], "--decode-frames", 1, 100_000),
    seconds: numberOption(values["decode-seconds"], "--decode-seconds", 0, 3600),
  };
  const knobs = windowKnobs(values);
  if (!values.live) {
    const stray = LIVE_ONLY.filter((k) => values[k] !== undefined);
    if (stray.length) {
      throw new UsageError(`--${stray.join(", --")}: options of --live, given without --live`);
    }
  }
  const live = values.live
    ? {
      durationS: numberOption(values.duration ?? "10", "--duration", 1, 3600),
      maxStreams: intOption(values["max-streams"] ?? "256", "--max-streams", 1, 1024),
      maxPhases: intOption(values["max-phases"] ?? "10", "--max-phases", 1, 50),
      input: await loadBenchInput(values.file),
    }
    : null;
  const modelDir = values.model ?? Deno.env.get("MODEL") ?? defaultModelDir();
  const windowMs = knobs.LEFT_CONTEXT_MS + knobs.STEP_MS + knobs.RIGHT_CONTEXT_MS;
  const progress = new LiveLine(Deno.stderr);
  const say = (s: string) => progress.print(`[bench gpu] ${s}`);

  const loadAtStart = loadAverage();
  const measured = (() => {
    using runtime = OrtRuntime.load();
    // With device cuda this throws DeviceUnavailableError naming the missing piece (the CUDA
    // provider of a CPU build, libcuda.so.1, a CUDA runtime library, or the session's error).
    // The resident step on either device: it is what this measures against the copying path.
    using model = ParakeetModel.load(runtime, modelDir, {
      precision,
      device,
      decodeStep: "resident",
    });
    if (model.device !== device) {
      // ParakeetModel never does this for cuda or cpu; a benchmark must not measure the wrong one.
      throw new DeviceUnavailableError(`asked for ${device}, the model loaded on ${model.device}`);
    }
    say(
      `${model.files.dir} (${precision}) on ${device}: ${windowMs} ms windows, batches ${
        batches.join(",")
      }, ${reps} rep(s)`,
    );
    const limit = measureEncoderLimit(model, {
      windowMs,
      stepMs: knobs.STEP_MS,
      batches,
      reps,
      onRow: (r) =>
        say(
          `batch ${r.batch}: ${r.ms_per_call} ms per call, ${r.window_audio_s_per_s} s of window per s, ${r.stream_limit} streams`,
        ),
    });
    say(
      `decode step: batches ${decode.batches.join(",")}, ${decode.framesPerRow} frames per row`,
    );
    const decodeRows = measureDecodeStep({ model }, {
      ...decode,
      onRow: (r) =>
        say(
          `decode batch ${r.batch}: host ${r.host.row_steps_per_second} row-steps/s ${r.host.bytes_per_call_per_row} B/row/call; resident ${r.resident.row_steps_per_second} row-steps/s ${r.resident.bytes_per_call_per_row} B/row/call`,
        ),
    });
    return {
      limit,
      decodeRows,
      ortVersion: runtime.version,
      modelInfo: describeModel(model.files.dir, model.files.config, precision),
    };
  })();
  const dev = await describeDevice(device);
  const host = describeMachine(
    measured.ortVersion,
    "load_average at start and end shows other work on this host's CPUs while measuring",
  );
  const flops = flopsFor(measured.limit, measured.modelInfo.size, values["full-size"], dev);

  const liveReport = live
    ? await runLive(live, { modelDir, device, precision, knobs }, progress, say)
    : null;

  const best = measured.limit.rows.reduce((a, b) => (b.stream_limit > a.stream_limit ? b : a));
  const report = {
    date: new Date().toISOString(),
    command: ["bench", "gpu", ...args],
    device: dev,
    host: { ...host, load_average: loadAtStart, load_average_end: loadAverage() },
    model: measured.modelInfo,
    knobs,
    window_ms: windowMs,
    encoder_limit: measured.limit,
    decode_step: {
      device,
      frames_per_row: decode.framesPerRow,
      seconds_per_path: decode.seconds,
      rows: measured.decodeRows,
    },
    best: { batch: best.batch, stream_limit: best.stream_limit },
    flops: flops.report,
    flops_note: flops.note,
    live: liveReport,
    notes: [
      "encoder only: features, the TDT joint and the server's scheduling are not included",
      "each call copies the batch to the device and the encoder output back, as the server does",
      "decode_step: random encoder frames, both paths on the model's decoder_joint session; bytes are those crossing between TypeScript and ONNX Runtime (host↔device on a GPU)",
    ],
  };
  const date = report.date.slice(0, 10);
  const slug = dev.kind === "cpu"
    ? `cpu-${deviceSlug(dev.name)}`
    : deviceSlug(dev.gpus[0]?.name || "cuda");
  const out = values.out ?? `bench/results/gpu-${date}-${slug}.json`;
  if (values.out === undefined) await Deno.mkdir(dirname(out), { recursive: true });
  await writeAtomically(out, JSON.stringify(report, null, 2) + "\n");

  if (values.json) console.log(JSON.stringify(report));
  else {
    console.log(reportText(report.device, measured.limit, flops.report, liveReport));
    console.log(decodeStepText(device, measured.decodeRows));
  }
  say(`wrote ${out}`);
  return 0;
}

/** "1,8,32,64" → [1, 8, 32, 64]; each a whole number from 1 to 1024. */
export function parseBatches(value: string, flag = "--batches"): number[] {
  const parts = value.split(",").map((p) => p.trim());
  const ok = parts.length > 0 &&
    parts.every((p) => /^\d+$/.test(p) && Number(p) >= 1 && Number(p) <= 1024);
  if (!ok) {
    throw new UsageError(
      `${flag} must be batch sizes from 1 to 1024, comma-separated (e.g. 1,8,32), got "${value}"`,
    );
  }
  return parts.map(Number);
}

/** The window's knobs from the flags, else the server's defaults; checked as the server does. */
function windowKnobs(values: Record<string, unknown>) {
  const args: string[] = [];
  for (const flag of ["step-ms", "left-context-ms", "right-context-ms"]) {
    const v = values[flag];
    if (typeof v === "string") args.push(`--${flag}`, v);
  }
  try {
    const c = loadServerConfig({}, args);
    return {
      STEP_MS: c.stepMs,
      LEFT_CONTEXT_MS: c.leftContextMs,
      RIGHT_CONTEXT_MS: c.rightContextMs,
    };
  } catch (err) {
    if (err instanceof ConfigError) throw new UsageError(err.message);
    throw err;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const tmp = `${path}.tmp-${Deno.pid}`;
  try {
    await Deno.writeTextFile(tmp, text);
    await Deno.rename(tmp, path);
  } catch (err) {
    await Deno.remove(tmp).catch(() => {});
    throw new Error(`cannot write ${path}: ${(err as Error).message}`);
  }
}
