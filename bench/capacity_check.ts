/**
 * The announced capacity against what the server holds: the streams a `MAX_STREAMS=auto`
 * server announces (two starts, one before and one after the ramp), and the streams
 * `bench --ramp` holds against a `MAX_STREAMS=128` server at the same knobs. The two should be
 * within ±25% of each other.
 *
 *   deno run -A bench/capacity_check.ts [--model DIR] [--duration 14] [--file F] [--out FILE]
 *     [-- KNOB=V …]
 *
 * Without --model the tiny test model is served. The model prices a stream's steady state, full
 * windows of LEFT + STEP + RIGHT ms; a clip shorter than a few seconds, sent as one utterance per
 * pass, keeps many windows short (no left context yet) and lets the ramp hold more. So the
 * streams send one long utterance by default (the fixture clips joined, 18.3 s) for 14 s.
 */
import { parseArgs } from "node:util";
import { fileURLToPath } from "node:url";
import { describeMachine, loadAverage } from "../src/bench/machine.ts";
import { stopServer } from "../src/bench/server_process.ts";
import { startServerProcess } from "./server_process.ts";
import { FIXTURE_CLIPS_DIR, writeJoinedClipsWav } from "../src/bench/long_utterance.ts";

const ROOT = fileURLToPath(new URL("../", import.meta.url));

const { values, positionals } = parseArgs({
  args: Deno.args,
  options: {
    model: { type: "string" },
    duration: { type: "string", default: "14" },
    "max-streams": { type: "string", default: "64" },
    out: { type: "string" },
    /**
     * The clip each stream sends, looped with an EOS after each pass (default: every fixture
     * clip joined, 18.3 s: src/bench/long_utterance.ts).
     */
    file: { type: "string" },
  },
  allowPositionals: true,
});
const knobs = Object.fromEntries(positionals.map((kv) => kv.split("=", 2) as [string, string]));
const model: Record<string, string> = values.model ? { MODEL: values.model } : {};
const log = (s: string) => console.error(`[capacity-check] ${s}`);

/** Starts an `auto` server and reads its capacity from /v1/status. */
async function announced(): Promise<{ streams: number; capacity: Record<string, unknown> }> {
  const server = await startServerProcess({ ...model, ...knobs, MAX_STREAMS: "auto" });
  try {
    const status = await (await fetch(`http://127.0.0.1:${server.port}/v1/status`)).json();
    const capacity = status.capacity as Record<string, unknown>;
    log(`announced ${capacity.streams} streams`);
    return { streams: capacity.streams as number, capacity };
  } finally {
    await stopServer(server);
  }
}

/** `bench --ramp` against a `MAX_STREAMS=128` server. */
async function ramp(): Promise<Record<string, unknown>> {
  const server = await startServerProcess({ ...model, ...knobs, MAX_STREAMS: "128" });
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}main.ts`,
        "bench",
        "--url",
        `ws://127.0.0.1:${server.port}/ws`,
        "--file",
        clipFile,
        "--ramp",
        "--duration",
        values.duration!,
        "--max-streams",
        values["max-streams"]!,
        "--max-phases",
        "9",
        "--json",
      ],
      stdout: "piped",
      stderr: "inherit",
    }).output();
    const text = new TextDecoder().decode(out.stdout).trim();
    if (!out.success) throw new Error(`bench --ramp exited ${out.code}: ${text}`);
    const rep = JSON.parse(text.split("\n").at(-1)!);
    log(`ramp held ${rep.ramp.best_streams} streams (first failure ${rep.ramp.first_failure})`);
    return rep.ramp;
  } finally {
    await stopServer(server);
  }
}

const clipFile = values.file ?? await writeJoinedClipsWav(`${ROOT}${FIXTURE_CLIPS_DIR}`);
const machine = describeMachine("");
let before, held, after;
try {
  before = await announced();
  held = await ramp();
  after = await announced();
} finally {
  if (values.file === undefined) {
    await Deno.remove(clipFile.slice(0, clipFile.lastIndexOf("/")), { recursive: true });
  }
}
const best = held.best_streams as number;
const mean = (before.streams + after.streams) / 2;
const report = {
  date: new Date().toISOString(),
  model: values.model ?? "models/test/tiny-tdt",
  knobs,
  duration_s: Number(values.duration),
  clip: values.file ?? "the fixture clips joined (18.3 s)",
  announced: [before.streams, after.streams],
  announced_capacity: [before.capacity, after.capacity],
  ramp_held: best,
  ramp: held,
  ratio: best > 0 ? Math.round(mean / best * 100) / 100 : null,
  within_25_percent: best > 0 && Math.abs(mean / best - 1) <= 0.25,
  machine: { ...machine, load_average_end: loadAverage() },
};
const text = JSON.stringify(report, null, 2) + "\n";
if (values.out) await Deno.writeTextFile(values.out, text);
console.log(JSON.stringify({ announced: report.announced, ramp_held: best, ratio: report.ratio }));
