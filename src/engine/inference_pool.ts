import { InferenceEngine } from "./inference_engine.ts";
import type { InferenceRequest, InferenceResult } from "./inference_contract.ts";
import type { LoadedModel, LoadSpec } from "./worker_protocol.ts";

/**
 * Inference lanes: several inference workers, each with its own ONNX Runtime session of the
 * model and its own share of the CPU's threads, each running one batch at a time. On a CPU two
 * lanes of half the threads encode more windows a second than one lane of all of them: a
 * single-threaded operator has no barrier for a preempted thread to hold up, and one lane's
 * decoding loop (one thread) runs beside the other lane's encoder instead of leaving cores idle.
 * Each lane holds its own copy of the weights.
 */
export class InferencePool {
  readonly lanes: readonly InferenceEngine[];

  private constructor(lanes: InferenceEngine[]) {
    this.lanes = lanes;
  }

  /**
   * Starts `lanes` workers. The first loads alone (with DEVICE=auto it settles the device); the
   * others then load together on the device it got. Any failure closes what started.
   */
  static async start(
    spec: LoadSpec,
    lanes: (device: LoadedModel["device"]) => number,
    opts: { deadlineMs?: number } = {},
  ): Promise<InferencePool> {
    const first = await InferenceEngine.start(spec, opts);
    let count: number;
    try {
      count = lanes(first.model.device);
      if (!(Number.isInteger(count) && count >= 1)) {
        throw new RangeError(`inference lanes must be a whole number ≥ 1, got ${count}`);
      }
    } catch (err) {
      await first.close();
      throw err;
    }
    const rest = await Promise.allSettled(
      Array.from(
        { length: count - 1 },
        () => InferenceEngine.start({ ...spec, device: first.model.device }, opts),
      ),
    );
    const started = [first, ...rest.flatMap((r) => r.status === "fulfilled" ? [r.value] : [])];
    const failed = rest.find((r): r is PromiseRejectedResult => r.status === "rejected");
    if (failed) {
      await Promise.all(started.map((e) => e.close()));
      throw failed.reason;
    }
    return new InferencePool(started);
  }

  /** What the model is, as the first lane loaded it (every lane loads the same files). */
  get model(): LoadedModel {
    return this.lanes[0].model;
  }

  get inFlight(): number {
    return this.lanes.reduce((n, lane) => n + lane.inFlight, 0);
  }

  get restarts(): number {
    return this.lanes.reduce((n, lane) => n + lane.restarts, 0);
  }

  /** Called each time any lane's worker is replaced. */
  set onRestart(counted: () => void) {
    for (const lane of this.lanes) lane.onRestart = counted;
  }

  /** Runs `request` on the lane with the fewest batches in flight (the first of equals). */
  run(request: InferenceRequest): Promise<InferenceResult> {
    let best = this.lanes[0];
    for (const lane of this.lanes) if (lane.inFlight < best.inFlight) best = lane;
    return best.run(request);
  }

  /** Closes every lane. Idempotent. */
  async close(): Promise<void> {
    await Promise.all(this.lanes.map((lane) => lane.close()));
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }
}

/**
 * How many lanes: `configured` when set (INFERENCE_LANES > 0); otherwise two on a CPU of two
 * or more cores and one on a GPU, whose session runs its batches in order.
 */
export function inferenceLanes(
  configured: number,
  device: LoadedModel["device"],
  cores: number,
): number {
  if (configured > 0) return configured;
  return device === "cpu" && cores >= 2 ? 2 : 1;
}

/**
 * ONNX Runtime intra-op threads per lane: ORT_THREADS (0: one per core) shared out among the
 * lanes, at least one each, so a pod sized by ORT_THREADS keeps its thread count.
 */
export function threadsPerLane(ortThreads: number, lanes: number, cores: number): number {
  return Math.max(1, Math.floor((ortThreads > 0 ? ortThreads : cores) / lanes));
}
