/**
 * Seeded input mutation for the parsers' fuzz tests: the same seed gives the same inputs, so a
 * failure names its seed and case and reproduces. Mutations are the ones that find parser bugs
 * in practice: flipped bits, boundary values written over integers of every width and byte
 * order, bytes inserted, deleted, duplicated and truncated, and splices of two valid inputs.
 */
import { mulberry32 } from "../../src/bench/seeded_random.ts";
import { concatBytes } from "../typed_concat.ts";

export interface Rng {
  /** A uniform in [0, 1). */
  next(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** One of `items`. */
  pick<T>(items: readonly T[]): T;
}

export function seededRng(seed: number): Rng {
  const next = mulberry32(seed);
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, pick: (items) => items[int(items.length)] };
}

export function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.int(256);
  return out;
}

/** Integers that sit on an edge: zero, one, sign bits, all ones, powers of two ± 1. */
const BOUNDARY_U32 = [
  0,
  1,
  2,
  0x7f,
  0x80,
  0xff,
  0x100,
  0x7fff,
  0x8000,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xffffffff,
];

function writeBoundary(rng: Rng, bytes: Uint8Array): void {
  const width = rng.pick([1, 2, 4, 8]);
  if (bytes.length < width) return;
  const at = rng.int(bytes.length - width + 1);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const little = rng.next() < 0.5;
  const v = rng.pick(BOUNDARY_U32);
  if (width === 1) view.setUint8(at, v & 0xff);
  else if (width === 2) view.setUint16(at, v & 0xffff, little);
  else if (width === 4) view.setUint32(at, v >>> 0, little);
  else view.setBigUint64(at, rng.next() < 0.5 ? BigInt(v) : 0xffff_ffff_ffff_ffffn, little);
}

/** One mutation of `input` (never `input` itself changed); `others` are spliced from. */
export function mutate(
  rng: Rng,
  input: Uint8Array,
  others: readonly Uint8Array[] = [],
): Uint8Array {
  let out: Uint8Array = input.slice();
  const rounds = 1 + rng.int(4);
  for (let r = 0; r < rounds; r++) {
    const n = out.length;
    switch (rng.int(8)) {
      case 0: // flip a bit
        if (n > 0) out[rng.int(n)] ^= 1 << rng.int(8);
        break;
      case 1: // a random byte
        if (n > 0) out[rng.int(n)] = rng.int(256);
        break;
      case 2:
        writeBoundary(rng, out);
        break;
      case 3: { // insert random bytes
        const at = rng.int(n + 1);
        const add = randomBytes(rng, 1 + rng.int(16));
        out = concat(out.subarray(0, at), add, out.subarray(at));
        break;
      }
      case 4: { // delete a range
        if (n === 0) break;
        const at = rng.int(n);
        const len = 1 + rng.int(Math.min(16, n - at));
        out = concat(out.subarray(0, at), out.subarray(at + len));
        break;
      }
      case 5: { // duplicate a range
        if (n === 0) break;
        const at = rng.int(n);
        const len = 1 + rng.int(Math.min(64, n - at));
        out = concat(out.subarray(0, at + len), out.subarray(at, at + len), out.subarray(at + len));
        break;
      }
      case 6: // truncate
        out = out.slice(0, rng.int(n + 1));
        break;
      case 7: { // splice: our head, another input's tail
        if (others.length === 0) break;
        const other = rng.pick(others);
        out = concat(out.subarray(0, rng.int(n + 1)), other.subarray(rng.int(other.length + 1)));
        break;
      }
    }
  }
  return out;
}

export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/**
 * Runs `check` on `cases` mutations of the corpus (and as many purely random inputs as
 * `randomCases`), each under `seed`; a throw is rethrown naming the case and its input's first
 * bytes in hex, so the failure can be rebuilt from the seed.
 */
export async function fuzz(
  opts: {
    seed: number;
    corpus: readonly Uint8Array[];
    cases: number;
    randomCases?: number;
    maxRandomLength?: number;
  },
  check: (input: Uint8Array, rng: Rng) => void | Promise<void>,
): Promise<void> {
  const rng = seededRng(opts.seed);
  const total = opts.cases + (opts.randomCases ?? 0);
  for (let i = 0; i < total; i++) {
    const input = i < opts.cases
      ? mutate(rng, rng.pick(opts.corpus), opts.corpus)
      : randomBytes(rng, rng.int((opts.maxRandomLength ?? 256) + 1));
    try {
      await check(input, rng);
    } catch (err) {
      const hex = Array.from(input.subarray(0, 64), (b) => b.toString(16).padStart(2, "0")).join(
        "",
      );
      throw new Error(
        `fuzz seed ${opts.seed}, case ${i} (${input.length} bytes, starting ${hex}): ${
          (err as Error).stack ?? err
        }`,
      );
    }
  }
}
