/**
 * Audio with no speech in it, for checking that a model hears nothing there: white, pink and
 * brown noise and mains hum at several levels and lengths. Deterministic (seeded), 16 kHz.
 */
import { mulberry32 } from "../src/bench/seeded_random.ts";

export type NonSpeechKind = "white" | "pink" | "brown" | "hum";

export interface NonSpeechClip {
  kind: NonSpeechKind;
  levelDbfs: number;
  seconds: number;
  samples: Float32Array;
}

function gaussian(next: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - next())) * Math.cos(2 * Math.PI * next());
}

function shape(kind: NonSpeechKind, n: number, seed: number): Float32Array {
  const g = gaussian(mulberry32(seed));
  const x = new Float32Array(n);
  if (kind === "white") {
    for (let i = 0; i < n; i++) x[i] = g();
  } else if (kind === "pink") {
    // Paul Kellet's economy filter: -3 dB per octave within 0.5 dB over the audio band.
    let b0 = 0, b1 = 0, b2 = 0;
    for (let i = 0; i < n; i++) {
      const w = g();
      b0 = 0.99765 * b0 + w * 0.099046;
      b1 = 0.963 * b1 + w * 0.2965164;
      b2 = 0.57 * b2 + w * 1.0526913;
      x[i] = b0 + b1 + b2 + w * 0.1848;
    }
  } else if (kind === "brown") {
    // Leaky integration of white noise: -6 dB per octave above a few hertz.
    let y = 0;
    for (let i = 0; i < n; i++) x[i] = y = 0.998 * y + g();
  } else {
    const f0 = seed % 2 ? 60 : 50;
    for (let i = 0; i < n; i++) {
      const t = i / 16000;
      x[i] = Math.sin(2 * Math.PI * f0 * t) + Math.sin(4 * Math.PI * f0 * t) / 2 +
        Math.sin(6 * Math.PI * f0 * t) / 3 + 0.05 * g();
    }
  }
  return x;
}

/** One clip of `kind` at an RMS level of `levelDbfs`. */
export function nonSpeechClip(
  kind: NonSpeechKind,
  levelDbfs: number,
  seconds: number,
  seed: number,
): NonSpeechClip {
  const x = shape(kind, Math.round(seconds * 16000), seed);
  let sumSq = 0;
  for (const v of x) sumSq += v * v;
  const gain = 10 ** (levelDbfs / 20) / Math.sqrt(sumSq / x.length || 1);
  for (let i = 0; i < x.length; i++) x[i] = Math.max(-1, Math.min(1, x[i] * gain));
  return { kind, levelDbfs, seconds, samples: x };
}

/** Every kind at -40, -25 and -12 dBFS, 2 s and 5 s long: 24 clips. */
export function nonSpeechSet(): NonSpeechClip[] {
  const out: NonSpeechClip[] = [];
  let seed = 1;
  for (const kind of ["white", "pink", "brown", "hum"] as const) {
    for (const level of [-40, -25, -12]) {
      for (const seconds of [2, 5]) out.push(nonSpeechClip(kind, level, seconds, seed++));
    }
  }
  return out;
}
