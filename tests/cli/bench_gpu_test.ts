/**
 * `parakeet-server bench gpu`: the whole measurement with --device cpu (no GPU here or in CI),
 * the CUDA path up to the device (each ONNX Runtime build names what is missing, and nothing
 * falls back to the CPU), usage errors, and the pieces of the report (encoder-limit arithmetic,
 * nvidia-smi, FLOPs) on their own.
 */
import assert from "node:assert/strict";
import { describeDevice, deviceSlug, parseNvidiaSmi } from "../../src/bench/device_info.ts";
import { measureEncoderLimit } from "../../src/bench/encoder_limit.ts";
import { flopReport, gflopsPerWindow, readFlopCounts } from "../../src/bench/flops.ts";
import { cpuModel } from "../../src/bench/machine.ts";
import type { EncoderOutput } from "../../src/model/parakeet_model.ts";
import {
  compileSharedLibrary,
  CPU_LIB_DIR,
  GPU_FULL_LIB_DIR,
  GPU_LIB_DIR,
  hasGcc,
  hasGpuBuild,
  hasGpuFull,
  STUB_LIBCUDA_C,
} from "../ffi/helpers.ts";
import { CLIPS_DIR, ROOT, TINY_MODEL } from "../engine/fixtures.ts";

async function cli(args: string[], env: Record<string, string> = {}, cwd?: string) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}main.ts`, ...args],
    env: { NO_COLOR: "1", ...env },
    cwd,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

const CPU_RUN = [
  "bench",
  "gpu",
  "--device",
  "cpu",
  "--model",
  TINY_MODEL,
  "--batches",
  "1,2",
  // The decode step's fewest runs (three per path) keep these tests short.
  "--decode-batches",
  "1,2",
  "--decode-seconds",
  "0",
];

Deno.test("bench gpu --device cpu: one row per batch, the CPU described, the report written whole", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-gpu-" });
  try {
    const out = `${dir}/report.json`;
    const r = await cli([...CPU_RUN, "--reps", "1", "--json", "--out", out]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    assert.deepEqual(JSON.parse(await Deno.readTextFile(out)), rep, "the file is the report");
    assert.deepEqual([...Deno.readDirSync(dir)].map((e) => e.name), ["report.json"]);
    assert.match(r.stderr, new RegExp(`wrote ${out}`));

    assert.deepEqual(rep.device, {
      kind: "cpu",
      name: cpuModel(),
      cores: navigator.hardwareConcurrency,
      ram_gb: rep.host.ram_gb,
    });
    assert.notEqual(rep.device.name, "unknown");
    assert.deepEqual(rep.knobs, { STEP_MS: 240, LEFT_CONTEXT_MS: 2000, RIGHT_CONTEXT_MS: 160 });
    assert.equal(rep.window_ms, 2400);
    assert.equal(rep.model.dir, TINY_MODEL.replace(/\/$/, ""));
    assert.equal(rep.model.size, "tiny");
    assert.equal(rep.model.precision, "fp32");

    const lim = rep.encoder_limit;
    assert.equal(lim.recompute_factor, 10);
    assert.equal(lim.frames, 240);
    assert.equal(lim.reps, 1);
    assert.deepEqual(lim.rows.map((row: { batch: number }) => row.batch), [1, 2]);
    for (const row of lim.rows) {
      assert.ok(row.ms_per_call > 0, JSON.stringify(row));
      assert.ok(row.windows_per_s > 0 && row.window_audio_s_per_s > 0 && row.stream_limit > 0);
      // The arithmetic: windows/s = batch ÷ s per call; audio = windows × 2.4 s; ÷ 10 per stream.
      const windows = row.batch / (row.ms_per_call / 1000);
      assert.ok(Math.abs(row.windows_per_s - windows) / windows < 0.01, JSON.stringify(row));
      assert.ok(Math.abs(row.window_audio_s_per_s - row.windows_per_s * 2.4) < 0.05);
      assert.ok(Math.abs(row.stream_limit - row.window_audio_s_per_s / 10) < 0.051);
    }
    const best = Math.max(...lim.rows.map((row: { stream_limit: number }) => row.stream_limit));
    assert.equal(rep.best.stream_limit, best);
    assert.equal(rep.flops, null, "the tiny model has no FLOP count");
    assert.match(rep.flops_note, /size "tiny"/);
    assert.equal(rep.live, null);

    // The decode step on the same device: both paths, the same tokens, the bytes per row.
    const dec = rep.decode_step;
    assert.equal(dec.device, "cpu");
    assert.equal(dec.frames_per_row, 60);
    assert.deepEqual(dec.rows.map((row: { batch: number }) => row.batch), [1, 2]);
    const { stateLayers, stateHidden, encoderDim, logits } = await tinyShapes();
    for (const row of dec.rows) {
      assert.equal(row.identical_tokens, true);
      for (const path of ["host", "resident"]) {
        const p = row[path];
        assert.ok(p.runs >= 3 && p.joint_calls > 0 && p.row_steps >= p.joint_calls, path);
        assert.ok(p.row_steps_per_second > 0, JSON.stringify(p));
      }
      assert.equal(row.host.joint_calls, row.resident.joint_calls, "the same greedy calls");
      // Host, over the model's fused session: a frame, its index (int64: the fused graph picks
      // frames by index) and the target, four states in, logits and two states out.
      assert.equal(
        row.host.bytes_per_call_per_row,
        encoderDim * 4 + 8 + 4 + 4 * stateLayers * stateHidden * 4 + logits * 4,
      );
      // Resident: frame index and last token in, token, duration index and logit sum out.
      assert.equal(row.resident.bytes_per_call_per_row, 8 + 4 + 8 + 8 + 4);
      assert.ok(
        Math.abs(
          row.speedup - row.resident.row_steps_per_second /
              row.host.row_steps_per_second,
        ) < 0.01,
      );
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench gpu without --out writes bench/results/gpu-<date>-cpu-<cpu>.json in the cwd, and prints a table", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-gpu-cwd-" });
  try {
    const r = await cli([...CPU_RUN, "--reps", "1"], {}, dir);
    assert.equal(r.code, 0, r.stderr);
    const files = [...Deno.readDirSync(`${dir}/bench/results`)].map((e) => e.name);
    const date = new Date().toISOString().slice(0, 10);
    assert.deepEqual(files, [`gpu-${date}-cpu-${deviceSlug(cpuModel())}.json`]);
    const rep = JSON.parse(await Deno.readTextFile(`${dir}/bench/results/${files[0]}`));
    assert.equal(rep.encoder_limit.rows.length, 2);
    assert.match(r.stdout, /^device: cpu, /m);
    assert.match(r.stdout, /^\s*batch\s+ms\/call\s+windows\/s\s+window s\/s\s+streams/m);
    assert.match(r.stdout, /^\s+2\s+\d/m);
    assert.match(r.stdout, /^decode step on cpu /m);
    assert.match(
      r.stdout,
      /^rows\s+host row-steps\/s\s+host B\/row\/call\s+resident row-steps\/s/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench gpu --full-size: achieved TFLOP/s from the full encoder's FLOP count", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-gpu-flops-" });
  try {
    const r = await cli([
      ...CPU_RUN,
      "--reps",
      "1",
      "--full-size",
      "--json",
      "--out",
      `${dir}/r.json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const rep = JSON.parse(r.stdout);
    const f = rep.flops;
    assert.equal(f.gflops_per_window, 38.5, "bench/results/encoder-flops-full-2.4s.json");
    assert.match(f.gflops_basis, /counted for a 2\.4 s window/);
    assert.equal(f.gflops_per_live_stream, 160.4);
    rep.encoder_limit.rows.forEach((row: { windows_per_s: number }, i: number) => {
      assert.ok(Math.abs(f.rows[i].achieved_tflops - 38.5 * row.windows_per_s / 1000) < 0.001);
    });
    assert.equal(f.on_paper.gpu, null, "no GPU peak for a CPU");
    assert.equal(rep.flops_note, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("bench gpu --device cuda with the CPU build of ONNX Runtime names the missing CUDA provider", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-gpu-nocuda-" });
  try {
    const r = await cli(["bench", "gpu", "--model", TINY_MODEL, "--out", `${dir}/r.json`], {
      ORT_LIB: CPU_LIB_DIR,
    });
    assert.equal(r.code, 1);
    assert.equal(r.stdout, "");
    assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
    assert.match(
      r.stderr,
      /^parakeet-server bench: CUDA is not usable: libonnxruntime_providers_shared\.so \(ONNX Runtime's provider bridge\) is missing — not found in .*; this ONNX Runtime is the CPU build; run ORT_FLAVOR=gpu bash scripts\/setup\.sh/,
    );
    assert.deepEqual([...Deno.readDirSync(dir)], [], "nothing written, nothing measured");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test({
  name: "bench gpu with the GPU build but no driver names libcuda.so.1",
  ignore: !hasGpuBuild,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bench-gpu-nodriver-" });
    try {
      const r = await cli(["bench", "gpu", "--model", TINY_MODEL, "--out", `${dir}/r.json`], {
        ORT_LIB: GPU_LIB_DIR,
      });
      assert.equal(r.code, 1);
      assert.equal(r.stderr.trim().split("\n").length, 1, r.stderr);
      assert.match(
        r.stderr,
        /^parakeet-server bench: CUDA is not usable: libcuda\.so\.1 \(the NVIDIA driver library\) is missing/,
      );
      assert.deepEqual([...Deno.readDirSync(dir)], []);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "bench gpu with every CUDA file but no GPU fails at the session, never on the CPU",
  ignore: !hasGpuFull || !hasGcc,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "bench-gpu-stub-" });
    try {
      // A libcuda.so.1 that loads and reports no device: every file check passes.
      compileSharedLibrary(dir, "libcuda.so.1", "libcuda.so.1", STUB_LIBCUDA_C);
      const r = await cli([
        "bench",
        "gpu",
        "--model",
        TINY_MODEL,
        "--json",
        "--out",
        `${dir}/r.json`,
      ], {
        ORT_LIB: GPU_FULL_LIB_DIR,
        LD_LIBRARY_PATH: dir,
      });
      assert.equal(r.code, 1);
      assert.equal(r.stdout, "");
      assert.match(
        r.stderr,
        /^parakeet-server bench: CUDA session for .*encoder-model\.onnx failed: .*CUDA failure \d+/m,
      );
      assert.ok(!Deno.readDirSync(dir).some((e) => e.name.startsWith("r.json")));
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test("bench gpu answers bad options with exit 2 and a hint to bench gpu --help", async () => {
  const cases: [string[], RegExp][] = [
    [["--device", "tpu"], /--device must be cuda or cpu, got "tpu"/],
    [
      ["--device", "auto"],
      /--device must be cuda or cpu, got "auto" \(no auto: .*never falls back/,
    ],
    [["--batches", "0,x"], /--batches must be batch sizes from 1 to 1024, .*got "0,x"/],
    [["--batches", "8,,32"], /--batches must be .*got "8,,32"/],
    [["--reps", "0"], /--reps must be a number from 1 to 10000, got "0"/],
    [["--decode-batches", "x"], /--decode-batches must be batch sizes from 1 to 1024, .*got "x"/],
    [["--decode-frames", "0"], /--decode-frames must be a number from 1 to 100000, got "0"/],
    [["--decode-seconds", "soon"], /--decode-seconds must be a number from 0 to 3600, got "soon"/],
    [["--step-ms", "250"], /--step-ms must be a multiple of 80/],
    [["--precision", "fp16"], /--precision must be fp32 or int8, got "fp16"/],
    [["--duration", "5"], /--duration: options of --live, given without --live/],
    [["--nope"], /Unknown option '--nope'/],
  ];
  for (const [args, message] of cases) {
    const r = await cli(["bench", "gpu", "--device", "cpu", ...args]);
    assert.equal(r.code, 2, `${args.join(" ")}: ${r.stderr}`);
    assert.match(r.stderr, message, args.join(" "));
    assert.match(r.stderr, /^parakeet-server bench gpu: /);
    assert.match(r.stderr, /\nTry: parakeet-server bench gpu --help\n$/);
  }
  const help = await cli(["bench", "gpu", "--help"]);
  assert.equal(help.code, 0);
  assert.match(help.stdout, /--device D\s+cuda \| cpu \(default cuda\)/);
  assert.match(help.stdout, /--step-ms N\s+STEP_MS of the window \(default 240\)/);
  assert.match(help.stdout, /--decode-batches LIST\s+rows decoded together .*\(default 1,8,32\)/);
});

Deno.test("bench gpu --live ramps real-time streams against a server process on the device", async () => {
  const dir = await Deno.makeTempDir({ prefix: "bench-gpu-live-" });
  try {
    const r = await cli([
      ...CPU_RUN,
      "--reps",
      "1",
      "--live",
      "--file",
      `${CLIPS_DIR}/digits_pi.wav`,
      "--duration",
      "2",
      "--max-streams",
      "2",
      "--max-phases",
      "2",
      "--json",
      "--out",
      `${dir}/r.json`,
    ]);
    assert.equal(r.code, 0, r.stderr);
    const live = JSON.parse(r.stdout).live;
    assert.equal(live.server_device, "cpu");
    assert.equal(live.server_knobs.STEP_MS, 240);
    assert.equal(live.server_knobs.LEFT_CONTEXT_MS, 2000);
    assert.equal(live.ramp.target_ms, 340);
    assert.equal(live.phases[0].streams, 1);
    assert.equal(live.phases[0].connected, 1);
    assert.ok(live.phases[0].partials > 0, "speech gives partials");
    assert.deepEqual(live.phases[0].errors, {});
    assert.ok(live.ramp.verdicts.length >= 1 && live.ramp.verdicts.length <= 2);
    assert.ok(live.ramp.best_streams <= 2);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("encoder limit arithmetic: s per call → windows/s → window audio/s → streams", () => {
  let clock = 0;
  const calls: { batch: number; frames: number; values: number; lengths: number[] }[] = [];
  const model = {
    featuresSize: 4,
    config: { windowStride: 0.01 },
    encode(features: Float32Array, batch: number, frames: number, lengths: number[]) {
      calls.push({ batch, frames, values: features.length, lengths });
      clock += 10 + 5 * batch; // ms: a fixed cost plus a cost per window
      return {} as EncoderOutput;
    },
  };
  const seen: number[] = [];
  const lim = measureEncoderLimit(model, {
    windowMs: 2400,
    stepMs: 240,
    batches: [1, 4],
    reps: 3,
    now: () => clock,
    onRow: (row) => seen.push(row.batch),
  });
  assert.deepEqual(seen, [1, 4]);
  assert.equal(calls.length, 8, "one warm-up and three timed calls per batch");
  assert.deepEqual(calls[4], {
    batch: 4,
    frames: 240,
    values: 4 * 4 * 240,
    lengths: [240, 240, 240, 240],
  });
  assert.equal(lim.recompute_factor, 10);
  assert.deepEqual(lim.rows, [
    {
      batch: 1,
      ms_per_call: 15,
      windows_per_s: 66.67,
      window_audio_s_per_s: 160,
      stream_limit: 16,
    },
    {
      batch: 4,
      ms_per_call: 30,
      windows_per_s: 133.33,
      window_audio_s_per_s: 320,
      stream_limit: 32,
    },
  ]);
});

Deno.test("nvidia-smi: its CSV parsed, its absence and its failure told", async () => {
  assert.deepEqual(
    parseNvidiaSmi(
      "NVIDIA H100 80GB HBM3, 81559 MiB, 550.54.15\nNVIDIA L4, 23034 MiB, 550.54.15\n",
    ),
    [
      { name: "NVIDIA H100 80GB HBM3", memory_total: "81559 MiB", driver_version: "550.54.15" },
      { name: "NVIDIA L4", memory_total: "23034 MiB", driver_version: "550.54.15" },
    ],
  );
  assert.equal(deviceSlug("NVIDIA H100 80GB HBM3"), "nvidia-h100-80gb-hbm3");

  const dir = await Deno.makeTempDir({ prefix: "fake-smi-" });
  try {
    const ok = `${dir}/nvidia-smi`;
    await Deno.writeTextFile(
      ok,
      `#!/bin/sh\n[ "$1 $2" = "--query-gpu=name,memory.total,driver_version --format=csv,noheader" ] || exit 3\necho "NVIDIA L4, 23034 MiB, 550.54.15"\n`,
    );
    const broken = `${dir}/broken-smi`;
    await Deno.writeTextFile(
      broken,
      '#!/bin/sh\necho "NVIDIA-SMI has failed because it couldn\'t communicate with the NVIDIA driver."\nexit 9\n',
    );
    await Deno.chmod(ok, 0o755);
    await Deno.chmod(broken, 0o755);
    const d = await describeDevice("cuda", { nvidiaSmi: ok });
    assert.equal(d.kind, "cuda");
    if (d.kind !== "cuda") return;
    assert.equal(d.name, "NVIDIA L4");
    assert.equal(d.nvidia_smi, "ok");
    assert.deepEqual(d.gpus, [{
      name: "NVIDIA L4",
      memory_total: "23034 MiB",
      driver_version: "550.54.15",
    }]);

    const b = await describeDevice("cuda", { nvidiaSmi: broken });
    assert.match(b.name, /^unknown GPU \(.*broken-smi exited 9: NVIDIA-SMI has failed/);
    const none = await describeDevice("cuda", { nvidiaSmi: `${dir}/absent` });
    assert.match(none.name, /absent not found\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("FLOPs: the count for the window, or the nearest scaled; achieved against the on-paper estimate", () => {
  const counts = readFlopCounts([`${ROOT}bench/results`, `${ROOT}bench/results/`]);
  assert.deepEqual(counts.map((c) => c.window_seconds).sort((a, b) => a - b), [2.4, 10]);
  assert.deepEqual(gflopsPerWindow(counts, 2400)?.gflops, 38.5);
  const scaled = gflopsPerWindow(counts, 1360)!; // LEFT 960 + STEP 240 + RIGHT 160
  assert.equal(scaled.gflops, 21.81); // 16.04 GFLOP per audio second of the 2.4 s count × 1.36
  assert.match(scaled.basis, /16\.04 GFLOP per audio second of the 2\.4 s count/);
  assert.equal(gflopsPerWindow([], 2400), null);

  const h100 = flopReport({ gflops: 38.5, basis: "x" }, 240, [
    { batch: 1, windows_per_s: 20 },
    { batch: 32, windows_per_s: 100 },
  ], "NVIDIA H100 80GB HBM3");
  assert.equal(h100.gflops_per_live_stream, 160.4);
  assert.deepEqual(h100.rows, [
    { batch: 1, achieved_tflops: 0.77 },
    { batch: 32, achieved_tflops: 3.85 },
  ]);
  assert.equal(h100.best_achieved_tflops, 3.85);
  assert.equal(h100.streams_at_best, 24);
  assert.equal(h100.on_paper.gpu, "H100 SXM");
  assert.equal(h100.on_paper.achieved_utilisation, 0.008);
  assert.equal(h100.on_paper.estimated_streams, 926); // 495 × 0.3 ÷ 0.1604 (the on-paper ≈ 900)
  const l40s = flopReport({ gflops: 38.5, basis: "x" }, 240, [], "NVIDIA L40S");
  assert.equal(l40s.on_paper.gpu, null, "L40S is not the L4");
});

/** The tiny model's state and joint sizes, from its config and its joint's signature. */
async function tinyShapes() {
  const { OrtRuntime } = await import("../../ffi/mod.ts");
  using runtime = OrtRuntime.load();
  using joint = runtime.createSession(`${TINY_MODEL}/decoder_joint-model.onnx`);
  const dims = (
    name: string,
    list: readonly { name: string; dims: readonly (number | string)[] }[],
  ) => list.find((v) => v.name === name)!.dims;
  const state = dims("input_states_1", joint.inputs);
  const logits = dims("outputs", joint.outputs).at(-1);
  const encoder = dims("encoder_outputs", joint.inputs)[1];
  return {
    stateLayers: state[0] as number,
    stateHidden: state[2] as number,
    encoderDim: encoder as number,
    logits: logits as number,
  };
}
