import { BYTES_PER_MS } from "./pcm.ts";

/** The server's step geometry, as `/v1/status` reports it (or the seed's defaults). */
export interface StepKnobs {
  stepMs: number;
  rightContextMs: number;
}

/** A word of a partial, as the server sends it (seconds from the utterance's start). */
export interface WordTime {
  start: number;
  end: number;
}

/** Parakeet's encoder frame: 8 feature frames of 10 ms. Token times are multiples of it. */
const ENCODER_FRAME_S = 0.08;

/**
 * When each frame of one utterance's audio was sent, to answer "when did the server have the
 * audio up to byte b". Frames are appended in order.
 */
export class SendLog {
  #ends: number[] = [];
  #times: number[] = [];

  /** Frame ending at byte `endByte` (relative to the utterance) was sent at `timeMs`. */
  add(endByte: number, timeMs: number): void {
    this.#ends.push(endByte);
    this.#times.push(timeMs);
  }

  get bytes(): number {
    return this.#ends.length ? this.#ends[this.#ends.length - 1] : 0;
  }

  /** Send time of the frame that completed byte `byte` (1-based count), Infinity if not yet. */
  sentAt(byte: number): number {
    if (byte <= 0) return this.#times.length ? this.#times[0] : Infinity;
    let lo = 0, hi = this.#ends.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.#ends[mid] >= byte) hi = mid;
      else lo = mid + 1;
    }
    return lo < this.#ends.length ? this.#times[lo] : Infinity;
  }
}

/**
 * The audio a partial covers, in ms from the utterance's start: the end of the step that
 * produced it plus the right context that step waited for — the moment the server could first
 * have formed it.
 *
 * Which step? Step k decodes chunk [k·STEP, (k+1)·STEP) once audio up to (k+1)·STEP + RIGHT has
 * arrived. With word times (this server sends them), the partial's newest token lies in the
 * chunk holding `lastWordEnd − 80 ms` (a token spans its frame plus its TDT duration, ≥ 1 encoder
 * frame); the step cannot be one whose audio had not been sent yet when the partial arrived, so
 * k is lowered until it fits. Without word times (a seed-style server) k is the newest step whose
 * audio was sent before the arrival: a lower bound on the latency, exact while the server keeps
 * up. A token with a TDT duration over one frame near a chunk's end can place k one step late,
 * understating that partial's latency by at most one step.
 */
export function coveredAudioMs(
  knobs: StepKnobs,
  log: SendLog,
  arrivalMs: number,
  lastWordEnd: number | null,
): number {
  const boundary = (k: number) => (k + 1) * knobs.stepMs + knobs.rightContextMs;
  const sentMs = log.bytes / BYTES_PER_MS;
  let k = lastWordEnd === null
    ? Math.floor((sentMs - knobs.rightContextMs) / knobs.stepMs) - 1
    : Math.floor(Math.max(0, lastWordEnd - ENCODER_FRAME_S) * 1000 / knobs.stepMs);
  while (k > 0 && log.sentAt(Math.ceil(boundary(k) * BYTES_PER_MS)) > arrivalMs) k--;
  return Math.min(boundary(Math.max(0, k)), sentMs);
}

/** Partial latency: arrival time minus the send time of the last byte of the audio it covers. */
export function partialLatencyMs(
  knobs: StepKnobs,
  log: SendLog,
  arrivalMs: number,
  lastWordEnd: number | null,
): { latencyMs: number; coveredMs: number } {
  const coveredMs = coveredAudioMs(knobs, log, arrivalMs, lastWordEnd);
  const sent = log.sentAt(Math.ceil(coveredMs * BYTES_PER_MS));
  return { latencyMs: arrivalMs - sent, coveredMs };
}
