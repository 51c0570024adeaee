import {
  createSessionOnDevice,
  type DeviceRequest,
  DeviceUnavailableError,
  type InferenceSession,
  type OrtRuntime,
  type SessionOptions,
  trimHeap,
} from "../../ffi/mod.ts";
import type { DecodeStep } from "../decode/decode_step.ts";
import type { Joiner, TdtSpec } from "../decode/joiner.ts";
import { type ModelConfig, parseModelConfig } from "./model_config.ts";
import {
  locateModelFiles,
  type ModelFiles,
  ModelLoadError,
  type Precision,
} from "./model_files.ts";
import { OrtDecodeStep } from "./ort_decode_step.ts";
import { ModelOutputError, OrtJoiner } from "./ort_joiner.ts";
import { validateSignatures } from "./signature.ts";
import { Vocabulary } from "../decode/vocabulary.ts";

export interface ModelLoadOptions {
  precision?: Precision;
  /** `auto` tries CUDA and falls back to the CPU (reported through `onWarning`). */
  device?: DeviceRequest;
  /** Threads, optimisation level, CUDA settings. */
  session?: Omit<SessionOptions, "device">;
  /** One line for the log, e.g. why `auto` chose the CPU. */
  onWarning?: (message: string) => void;
  /**
   * How greedy decoding calls the joint. `resident` (ort_decode_step.ts): encoder frames and
   * states stay in ONNX Runtime, a few integers per row cross per call. `host`: every call
   * copies frames and states in and all logits out (OrtJoiner). Both give the same tokens.
   * Default: `resident` on CUDA (its runs go through IO bindings, so the frames and states stay
   * in device memory, and a call costs no transfer over the bus), `host` on the CPU. There both
   * live in the same memory, and at the server's passes (a few frames a row) the resident step's
   * set-up each batch made it 0.77–0.81 of the copying path's speed on a small joint and
   * 0.96–0.98 on v3's (bench/decode_step.ts --frames 3). Batch inference uses the resident step
   * for batches of two rows or more. A resident call is one run of the joint's graph with the
   * helper nodes spliced in; `resident-chain` keeps them in sessions of their own (three runs a
   * call, the form a model falls back to when its graph cannot take them).
   */
  decodeStep?: "resident" | "resident-chain" | "host";
}

export interface EncoderOutput {
  /** [batch, encoderDim, frames], as the encoder writes it. */
  data: Float32Array;
  batch: number;
  dim: number;
  frames: number;
  /** Valid encoder frames of each row. */
  lengths: number[];
}

/**
 * A loaded Parakeet-TDT model directory: encoder and joint sessions, vocabulary, config, and
 * the shapes decoding needs. Owns both sessions; `close()` releases them.
 */
export class ParakeetModel implements Disposable {
  readonly files: ModelFiles;
  readonly config: ModelConfig;
  readonly vocab: Vocabulary;
  readonly spec: TdtSpec;
  readonly joiner: Joiner;
  /** The joiner over the model's own joint session; null when the fused decode step's serves. */
  #joiner: OrtJoiner | null;
  /** Set when decoding runs through the resident step; batch inference then prefers it. */
  readonly decodeStep?: DecodeStep;
  #decodeStep?: OrtDecodeStep;
  readonly device: "cpu" | "cuda";
  #encoder: InferenceSession;
  /** Null when the fused decode step holds the joint (one copy of its weights, not two). */
  #joint: InferenceSession | null;

  private constructor(
    files: ModelFiles,
    config: ModelConfig,
    vocab: Vocabulary,
    spec: TdtSpec,
    encoder: InferenceSession,
    joint: InferenceSession | null,
    decodeStep?: OrtDecodeStep,
  ) {
    this.files = files;
    this.config = config;
    this.vocab = vocab;
    this.spec = spec;
    this.#encoder = encoder;
    this.#joint = joint;
    this.device = encoder.device;
    this.#joiner = joint ? new OrtJoiner(joint, spec) : null;
    const joiner = this.#joiner ?? decodeStep?.joiner;
    if (!joiner) throw new Error("a model needs its joint session or a fused decode step");
    this.joiner = joiner;
    this.#decodeStep = decodeStep;
    this.decodeStep = decodeStep;
  }

  static load(runtime: OrtRuntime, dir: string, opts: ModelLoadOptions = {}): ParakeetModel {
    const files = locateModelFiles(dir, opts.precision ?? "fp32");
    const config = parseModelConfig(readText(files.config), files.config);
    const vocab = Vocabulary.parse(readText(files.vocab), files.vocab);
    // ORT's memory pattern plans one block per input shape; batch sizes vary call to call, and
    // with it on the arena grew to 2.4× the largest batch's need (lab/probes/arena_probe.ts: 1100
    // MiB against 577 without it, same speed). Off unless the caller asks for it.
    const sessionOptions = { memoryPattern: false, ...opts.session };
    const encoder = openSession(() => {
      const made = createSessionOnDevice(
        runtime,
        files.encoder,
        opts.device ?? "auto",
        sessionOptions,
      );
      if (made.warning) opts.onWarning?.(made.warning);
      return made.session;
    }, files.encoder);
    let joint: InferenceSession | undefined;
    let decodeStep: OrtDecodeStep | undefined;
    try {
      // The joint goes wherever the encoder went: one device per model.
      joint = openSession(
        () =>
          runtime.createSession(files.decoderJoint, { ...sessionOptions, device: encoder.device }),
        files.decoderJoint,
      );
      const shapes = validateSignatures(
        { file: files.encoder, inputs: encoder.inputs, outputs: encoder.outputs },
        { file: files.decoderJoint, inputs: joint.inputs, outputs: joint.outputs },
        {
          vocabSize: vocab.size,
          blankId: vocab.blankId,
          featuresSize: config.featuresSize,
          maxSymbolsPerFrame: config.maxTokensPerStep,
          durations: config.durations,
        },
      );
      const form = opts.decodeStep ?? (encoder.device === "cpu" ? "host" : "resident");
      const jointBytes = form === "resident" ? Deno.readFileSync(files.decoderJoint) : undefined;
      try {
        decodeStep = form !== "host"
          ? OrtDecodeStep.create(
            runtime,
            joint,
            shapes.tdt,
            { ...sessionOptions, device: encoder.device },
            jointBytes,
            opts.onWarning,
          )
          : undefined;
      } finally {
        // 75 MB for Parakeet-TDT-0.6B-v3's joint: freed now, not whenever the GC gets to it.
        jointBytes?.buffer.transfer(0);
      }
      if (decodeStep?.fused) {
        // The fused session has the joint's nodes and weights: lone rows decode through it too.
        // The closed joint's weights go back to the system, not only to the C heap.
        joint.close();
        joint = undefined;
        trimHeap();
      }
      return new ParakeetModel(
        files,
        config,
        vocab,
        shapes.tdt,
        encoder,
        joint ?? null,
        decodeStep,
      );
    } catch (err) {
      decodeStep?.close();
      joint?.close();
      encoder.close();
      throw err;
    }
  }

  get featuresSize(): number {
    return this.config.featuresSize;
  }

  /** Seconds of audio per encoder frame (0.08 for Parakeet). */
  get secondsPerEncoderFrame(): number {
    return this.config.windowStride * this.config.subsamplingFactor;
  }

  /**
   * Encodes a batch of feature windows, [batch, featuresSize, frames] feature-major with each
   * row's valid length; rows shorter than `frames` are zero-padded by the caller.
   */
  encode(features: Float32Array, batch: number, frames: number, lengths: number[]): EncoderOutput {
    const out = this.#encoder.run({
      audio_signal: { type: "float32", dims: [batch, this.featuresSize, frames], data: features },
      length: { type: "int64", dims: [batch], data: BigInt64Array.from(lengths, BigInt) },
    });
    const outputs = out.outputs;
    const [b, dim, t] = outputs.dims;
    if (b !== batch || dim !== this.spec.encoderDim || outputs.dims.length !== 3) {
      throw new ModelOutputError(
        `encoder returned dims [${outputs.dims}] for a batch of ${batch}, expected [${batch}, ${this.spec.encoderDim}, T]`,
      );
    }
    const encoded = Array.from(out.encoded_lengths.data as BigInt64Array, Number);
    if (encoded.some((n) => !(n >= 0 && n <= t))) {
      throw new ModelOutputError(`encoder returned lengths [${encoded}] outside 0..${t}`);
    }
    return { data: outputs.data as Float32Array, batch, dim, frames: t, lengths: encoded };
  }

  close(): void {
    this.#joiner?.close();
    this.#decodeStep?.close();
    this.#joint?.close();
    this.#encoder.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function readText(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch (err) {
    throw new ModelLoadError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

function openSession(create: () => InferenceSession, path: string): InferenceSession {
  try {
    return create();
  } catch (err) {
    // A device the user required is not a model defect: let it through as it is.
    if (err instanceof DeviceUnavailableError) throw err;
    throw new ModelLoadError(`cannot load ${path}: ${(err as Error).message}`, { cause: err });
  }
}
