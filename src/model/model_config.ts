import { ModelLoadError } from "./model_files.ts";

/**
 * config.json of a model directory. The public Parakeet export and onnx-asr need only
 * `model_type`, `features_size`, `subsampling_factor` and `max_tokens_per_step`; everything else
 * here is optional and defaults to Parakeet-TDT-0.6B-v3's values.
 */
export interface ModelConfig {
  modelType: "nemo-conformer-tdt";
  featuresSize: number;
  subsamplingFactor: number;
  maxTokensPerStep: number;
  /** Frame advance of each TDT duration class; by default 0…K-1 from the joint's width. */
  durations?: number[];
  sampleRate: number;
  /** Seconds per feature frame (NeMo's window_stride). */
  windowStride: number;
  /**
   * Longest encoder input the model can attend over, in encoder frames: the length of its
   * relative positional table (NeMo's `pos_emb_max_len`; Parakeet-TDT-0.6B-v3: 5000 = 400 s).
   * A longer window fails inside the encoder's attention, so every window is kept within it.
   */
  maxEncoderFrames: number;
  /** `streaming_defaults` as written: knob values, checked by the server's knob table. */
  streamingDefaults?: unknown;
  /**
   * What the model can recognise, in words (`recognises`), for people choosing or testing a
   * model: a narrow model says so (the bundled demo model: digits only). Public exports omit it.
   */
  recognises?: string;
}

const DEFAULTS = {
  features_size: 128,
  subsampling_factor: 8,
  max_tokens_per_step: 10,
  sample_rate: 16000,
  window_stride: 0.01,
  pos_emb_max_len: 5000,
};

/**
 * The positional table's length as our exporters write it (`architecture.pos_emb_max_len`, the
 * NeMo encoder key), or at the top level. The public v3 export writes neither: it gets v3's 5000.
 * (The table is also a constant in the encoder graph, but finding it there means parsing the
 * ONNX protobuf of a 2.4 GB model at every start.)
 */
function positionTableLength(obj: Record<string, unknown>): unknown {
  const arch = obj.architecture;
  const nested = typeof arch === "object" && arch !== null
    ? (arch as Record<string, unknown>).pos_emb_max_len
    : undefined;
  return obj.pos_emb_max_len ?? nested ?? DEFAULTS.pos_emb_max_len;
}

export function parseModelConfig(text: string, source = "config.json"): ModelConfig {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new ModelLoadError(`${source}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    throw new ModelLoadError(`${source}: expected a JSON object`);
  }
  const obj = raw as Record<string, unknown>;
  if (obj.model_type !== "nemo-conformer-tdt") {
    throw new ModelLoadError(
      `${source}: model_type is ${
        JSON.stringify(obj.model_type)
      }; this server runs "nemo-conformer-tdt" models (Parakeet-TDT)`,
    );
  }
  const int = (
    key: keyof typeof DEFAULTS,
    min: number,
    max: number,
    v: unknown = obj[key] ?? DEFAULTS[key],
  ): number => {
    if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
      throw new ModelLoadError(
        `${source}: ${key} must be an integer from ${min} to ${max}, got ${JSON.stringify(v)}`,
      );
    }
    return v;
  };
  let durations: number[] | undefined;
  if (obj.durations !== undefined) {
    const d = obj.durations;
    if (
      !Array.isArray(d) || d.length === 0 ||
      !d.every((x) => Number.isInteger(x) && x >= 0 && x <= 64)
    ) {
      throw new ModelLoadError(
        `${source}: durations must be a non-empty list of frame counts, got ${JSON.stringify(d)}`,
      );
    }
    durations = d as number[];
  }
  const stride = obj.window_stride ?? DEFAULTS.window_stride;
  if (typeof stride !== "number" || !(stride > 0 && stride < 1)) {
    throw new ModelLoadError(`${source}: window_stride must be seconds in (0, 1), got ${stride}`);
  }
  return {
    modelType: "nemo-conformer-tdt",
    featuresSize: int("features_size", 1, 1024),
    subsamplingFactor: int("subsampling_factor", 1, 64),
    maxTokensPerStep: int("max_tokens_per_step", 1, 1000),
    durations,
    sampleRate: int("sample_rate", 8000, 48000),
    windowStride: stride,
    maxEncoderFrames: int("pos_emb_max_len", 1, 1_000_000, positionTableLength(obj)),
    streamingDefaults: obj.streaming_defaults,
    recognises: typeof obj.recognises === "string" && obj.recognises.trim() !== ""
      ? obj.recognises.trim()
      : undefined,
  };
}

/**
 * The feature extractor's settings the model fixes: its sample rate, and the hop between feature
 * frames as its `window_stride` in samples, so that the frames computed are the frames the
 * geometry and the word times count in.
 */
export function featureSettings(
  config: Pick<ModelConfig, "sampleRate" | "windowStride">,
): { sampleRate: number; hopLength: number } {
  return {
    sampleRate: config.sampleRate,
    hopLength: Math.round(config.windowStride * config.sampleRate),
  };
}
