/**
 * The start-up warm-up batch. ONNX Runtime's CPU memory arena keeps the high-water mark of the
 * largest batch it has run and never gives it back; met first mid-service (a flooding client,
 * a burst of streams), the arena grows then. One batch of the largest size at start reaches the
 * mark before the first stream (lab/probes/arena_probe.ts), and also takes the first-call costs
 * (kernel selection, allocations) off the first user.
 */
import type { TdtSpec } from "../decode/joiner.ts";
import { initialTdtState } from "../decode/tdt_state.ts";
import type { InferenceRequest, InferenceResult } from "./inference_contract.ts";

/**
 * `batch` silent windows of `columns` feature frames, each decoded for one encoder frame from
 * a fresh state: one encoder call at the full batch and one joint call at the full batch.
 */
export function warmUpRequest(
  spec: TdtSpec,
  featuresSize: number,
  batch: number,
  columns: number,
): InferenceRequest {
  if (!Number.isInteger(batch) || batch < 1 || !Number.isInteger(columns) || columns < 1) {
    throw new RangeError(`warm-up batch ${batch} × ${columns} columns: both must be positive`);
  }
  const windows = Array.from({ length: batch }, () => ({
    features: new Float32Array(featuresSize * columns),
    columns,
    valid: columns,
  }));
  const rows = windows.map((_, window) => ({
    parts: [{ window, encoderOffset: 0, encoderCount: 1 }],
    state: initialTdtState(spec),
  }));
  return { windows, rows };
}

/**
 * Runs the warm-up batch on `runner`; resolves to its milliseconds. A failure names the knobs
 * that make the batch smaller or skip it.
 */
export async function warmUp(
  runner: { run(request: InferenceRequest): Promise<InferenceResult> },
  spec: TdtSpec,
  featuresSize: number,
  batch: number,
  columns: number,
): Promise<number> {
  const t0 = performance.now();
  try {
    await runner.run(warmUpRequest(spec, featuresSize, batch, columns));
  } catch (err) {
    throw new Error(
      `the warm-up batch (${batch} windows of ${columns} frames) failed: ${
        (err as Error).message
      }. Lower MAX_BATCH, or set WARMUP_BATCH=0 to skip the warm-up`,
    );
  }
  return performance.now() - t0;
}
