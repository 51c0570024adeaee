// Partial latency as the command-line client and the benchmark measure it (src/client/coverage.ts
// and latency_stats.ts, repeated here because the page loads plain scripts): a partial's
// arrival minus the moment the last byte of the audio it covers was sent.

const BYTES_PER_MS = 32; // 16 kHz PCM16
/** Parakeet's encoder frame: 8 feature frames of 10 ms. Token times are multiples of it. */
const ENCODER_FRAME_S = 0.08;
/** The seed's step geometry, assumed when the server does not report its knobs. */
export const SEED_KNOBS = { stepMs: 240, rightContextMs: 160 };

/** When each frame of one utterance's audio was sent. Frames are appended in order. */
export class SendLog {
  #ends = [];
  #times = [];

  /** The frame ending at byte `endByte` (counted from the utterance's start) went at `timeMs`. */
  add(endByte, timeMs) {
    this.#ends.push(endByte);
    this.#times.push(timeMs);
  }

  get bytes() {
    return this.#ends.length ? this.#ends[this.#ends.length - 1] : 0;
  }

  /** Send time of the frame that completed byte `byte` (1-based), Infinity if not yet sent. */
  sentAt(byte) {
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
 * The audio a partial covers, in ms: the end of the step that produced it plus the right context
 * that step waited for. The newest word's end locates the step; a step whose audio had not been
 * sent when the partial arrived cannot have produced it, so the estimate is lowered until it fits.
 */
function coveredAudioMs(knobs, log, arrivalMs, lastWordEnd) {
  const boundary = (k) => (k + 1) * knobs.stepMs + knobs.rightContextMs;
  const sentMs = log.bytes / BYTES_PER_MS;
  let k = lastWordEnd === null
    ? Math.floor((sentMs - knobs.rightContextMs) / knobs.stepMs) - 1
    : Math.floor(Math.max(0, lastWordEnd - ENCODER_FRAME_S) * 1000 / knobs.stepMs);
  while (k > 0 && log.sentAt(Math.ceil(boundary(k) * BYTES_PER_MS)) > arrivalMs) k--;
  return Math.min(boundary(Math.max(0, k)), sentMs);
}

/** Milliseconds from sending the last byte of the audio a partial covers to its arrival. */
export function partialLatencyMs(knobs, log, arrivalMs, words) {
  const last = Array.isArray(words) && words.length ? Number(words[words.length - 1].end) : NaN;
  const covered = coveredAudioMs(knobs, log, arrivalMs, Number.isFinite(last) ? last : null);
  return arrivalMs - log.sentAt(Math.ceil(covered * BYTES_PER_MS));
}

/** Nearest-rank percentile of an ascending sample: always a value that was measured. */
function percentile(sorted, p) {
  if (sorted.length === 0) return null;
  return sorted[Math.max(1, Math.ceil((p / 100) * sorted.length)) - 1];
}

/** The latencies of one session: the latest, and p50/p95 of all so far. */
export class LatencyMeter {
  #values = [];

  add(ms) {
    this.#values.push(ms);
  }

  summary() {
    const sorted = [...this.#values].sort((a, b) => a - b);
    return {
      count: sorted.length,
      latest: this.#values.length ? this.#values[this.#values.length - 1] : null,
      p50: percentile(sorted, 50),
      p95: percentile(sorted, 95),
    };
  }
}
