/**
 * The loads behind `bench` and `bench gpu --live`: the audio every stream sends, one load of N
 * real-time streams with a progress line, and the ramp that searches for the most streams
 * holding a latency target.
 */
import { phaseHeld, type PhaseReport, runPhase } from "./phase.ts";
import type { StepKnobs } from "../client/coverage.ts";
import type { LiveLine } from "../client/live_line.ts";
import { loadClipPcm16 } from "../client/load_clip.ts";
import { floatToPcm16, frameBytesFor, toneSamples } from "../client/pcm.ts";
import { RampSearch } from "./ramp.ts";
import { ms } from "../client/report.ts";

/** The seed's synthetic input: a 440 Hz tone in utterances this long. */
export const TONE_UTTERANCE_S = 10;
const FINAL_TIMEOUT_MS = 15_000;
/** Stream starts spread over this long, so the steps of all streams do not fall together. */
const STAGGER_MS = 1000;

export interface BenchInput {
  kind: "file" | "tone";
  file: string | null;
  pcm: Uint8Array;
  /** Seconds of one utterance (one pass of the clip). */
  seconds: number;
}

/** `file` as PCM16 at 16 kHz, or the seed's tone when no file is given. */
export async function loadBenchInput(file: string | undefined): Promise<BenchInput> {
  if (file) return { kind: "file", file, ...(await loadClipPcm16(file)) };
  return {
    kind: "tone",
    file: null,
    pcm: floatToPcm16(toneSamples(TONE_UTTERANCE_S)),
    seconds: TONE_UTTERANCE_S,
  };
}

/** How a report names its input. */
export function describeBenchInput(input: BenchInput): Record<string, unknown> {
  return input.kind === "file"
    ? { file: input.file, utterance_seconds: Math.round(input.seconds * 1000) / 1000 }
    : { tone_hz: 440, utterance_seconds: TONE_UTTERANCE_S };
}

export interface LoadSpec {
  url: string;
  /** The server's token, for every stream. */
  token?: string;
  input: BenchInput;
  durationS: number;
  frameMs: number;
  knobs: StepKnobs;
  progress: LiveLine;
  /** Progress lines start `[<label> N streams]`. */
  label?: string;
}

/** A function running one load of `n` streams, each sending `durationS` s at real time. */
export function loadRunner(spec: LoadSpec): (n: number) => Promise<PhaseReport> {
  const label = spec.label ?? "bench";
  return async (n) => {
    const report = await runPhase({
      url: spec.url,
      token: spec.token,
      streams: n,
      durationS: spec.durationS,
      clip: spec.input.pcm,
      frameBytes: frameBytesFor(spec.frameMs),
      knobs: spec.knobs,
      staggerMs: Math.min(STAGGER_MS, spec.durationS * 500),
      finalTimeoutMs: FINAL_TIMEOUT_MS,
      onProgress: (p) =>
        spec.progress.update(
          `[${label} ${n} streams] ${
            p.elapsedS.toFixed(0)
          }/${spec.durationS} s  open ${p.open}  partials ${p.partials}  p95 (5 s) ${
            ms(p.recentP95Ms)
          }  finals ${p.finals}  errors ${p.errors}`,
        ),
    });
    spec.progress.done();
    return report;
  };
}

export interface RampResult {
  target_ms: number;
  best_streams: number;
  first_failure: number | null;
  /** No load failed and the best is the cap: more streams may hold. */
  capped: boolean;
  verdicts: { streams: number; held: boolean; why: string }[];
}

/**
 * Runs the ramp search (RampSearch) with `run`: each proposed load is run and judged against
 * `targetMs` (phaseHeld). Returns every load's report and the verdicts.
 */
export async function runRamp(
  run: (n: number) => Promise<PhaseReport>,
  opts: { start: number; max: number; maxPhases: number; targetMs: number; precision?: number },
  onVerdict?: (v: { streams: number; held: boolean; why: string }) => void,
): Promise<{ phases: PhaseReport[]; ramp: RampResult }> {
  const search = new RampSearch(opts);
  const phases: PhaseReport[] = [];
  const verdicts: RampResult["verdicts"] = [];
  for (let n = search.next(); n !== null; n = search.next()) {
    const r = await run(n);
    phases.push(r);
    const v = { streams: n, ...phaseHeld(r, opts.targetMs) };
    verdicts.push(v);
    search.record(n, v.held);
    onVerdict?.(v);
  }
  return {
    phases,
    ramp: {
      target_ms: opts.targetMs,
      best_streams: search.best,
      first_failure: search.firstFailure,
      capped: search.firstFailure === null && search.best >= opts.max,
      verdicts,
    },
  };
}
