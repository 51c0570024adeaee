import type { TdtSpec } from "../decode/joiner.ts";
import { ModelLoadError } from "./model_files.ts";

/** What an ONNX session says of one input or output (dims: a number, or a symbolic name). */
export interface IoInfo {
  name: string;
  type: string;
  dims: readonly (number | string)[];
}

export interface SessionIo {
  file: string;
  inputs: readonly IoInfo[];
  outputs: readonly IoInfo[];
}

interface Expected {
  name: string;
  type: string;
  rank: number;
}

const ENCODER_IN: Expected[] = [
  { name: "audio_signal", type: "float32", rank: 3 },
  { name: "length", type: "int64", rank: 1 },
];
const ENCODER_OUT: Expected[] = [
  { name: "outputs", type: "float32", rank: 3 },
  { name: "encoded_lengths", type: "int64", rank: 1 },
];
const JOINT_IN: Expected[] = [
  { name: "encoder_outputs", type: "float32", rank: 3 },
  { name: "targets", type: "int32", rank: 2 },
  { name: "target_length", type: "int32", rank: 1 },
  { name: "input_states_1", type: "float32", rank: 3 },
  { name: "input_states_2", type: "float32", rank: 3 },
];
const JOINT_OUT: Expected[] = [
  { name: "outputs", type: "float32", rank: 4 },
  { name: "output_states_1", type: "float32", rank: 3 },
  { name: "output_states_2", type: "float32", rank: 3 },
];

function check(io: SessionIo, kind: "input" | "output", expected: Expected[]): Map<string, IoInfo> {
  const list = kind === "input" ? io.inputs : io.outputs;
  const byName = new Map(list.map((i) => [i.name, i]));
  for (const e of expected) {
    const got = byName.get(e.name);
    if (!got) {
      throw new ModelLoadError(
        `${io.file}: no ${kind} named "${e.name}" (it has ${
          list.map((i) => `"${i.name}"`).join(", ") || "none"
        }); is this a NeMo Parakeet-TDT export?`,
      );
    }
    if (got.type !== e.type) {
      throw new ModelLoadError(
        `${io.file}: ${kind} "${e.name}" is ${got.type}, expected ${e.type}`,
      );
    }
    if (got.dims.length !== e.rank) {
      throw new ModelLoadError(
        `${io.file}: ${kind} "${e.name}" has rank ${got.dims.length} [${
          got.dims.join(", ")
        }], expected rank ${e.rank}`,
      );
    }
  }
  return byName;
}

/** A fixed dimension, or undefined when the export left it symbolic. */
function fixed(dim: number | string): number | undefined {
  return typeof dim === "number" && dim > 0 ? dim : undefined;
}

const MAX_DURATIONS = 16;

export interface ModelShapes {
  featuresSize: number;
  tdt: TdtSpec;
}

/**
 * Checks both sessions against the NeMo Parakeet-TDT export signature and works out the sizes
 * decoding needs. Every mismatch names the file, the tensor and what was expected.
 */
export function validateSignatures(
  encoder: SessionIo,
  joint: SessionIo,
  opts: {
    vocabSize: number;
    blankId: number;
    featuresSize: number;
    maxSymbolsPerFrame: number;
    durations?: number[];
  },
): ModelShapes {
  const encIn = check(encoder, "input", ENCODER_IN);
  const encOut = check(encoder, "output", ENCODER_OUT);
  const jIn = check(joint, "input", JOINT_IN);
  const jOut = check(joint, "output", JOINT_OUT);

  const feat = fixed(encIn.get("audio_signal")!.dims[1]);
  if (feat !== undefined && feat !== opts.featuresSize) {
    throw new ModelLoadError(
      `${encoder.file}: audio_signal takes ${feat} features per frame but config.json says features_size ${opts.featuresSize}`,
    );
  }
  const encDim = fixed(encOut.get("outputs")!.dims[1]);
  const jointDim = fixed(jIn.get("encoder_outputs")!.dims[1]);
  const dim = encDim ?? jointDim;
  if (dim === undefined) {
    throw new ModelLoadError(
      `${joint.file}: the encoder dimension is symbolic in both files; cannot size the decoder`,
    );
  }
  if (encDim !== undefined && jointDim !== undefined && encDim !== jointDim) {
    throw new ModelLoadError(
      `${joint.file}: encoder_outputs has dimension ${jointDim} but ${encoder.file} produces ${encDim}: the two files are from different models`,
    );
  }
  const states = jIn.get("input_states_1")!.dims;
  const layers = fixed(states[0]);
  const hidden = fixed(states[2]);
  if (layers === undefined || hidden === undefined) {
    throw new ModelLoadError(
      `${joint.file}: input_states_1 must have fixed layer and hidden sizes, got [${
        states.join(", ")
      }]`,
    );
  }
  const width = fixed(jOut.get("outputs")!.dims[3]);
  if (width === undefined) {
    throw new ModelLoadError(`${joint.file}: the joint output width is symbolic`);
  }
  const numDurations = width - opts.vocabSize;
  // TDT models have a handful of duration classes (Parakeet: 5); many more means the vocabulary
  // is too small for this joint.
  if (numDurations < 1 || (opts.durations === undefined && numDurations > MAX_DURATIONS)) {
    throw new ModelLoadError(
      `${joint.file}: the joint emits ${width} logits, which do not fit the vocabulary's ${opts.vocabSize} tokens plus 1 to ${MAX_DURATIONS} durations: vocab.txt belongs to another model`,
    );
  }
  const durations = opts.durations ?? Array.from({ length: numDurations }, (_, i) => i);
  if (durations.length !== numDurations) {
    throw new ModelLoadError(
      `${joint.file}: the joint emits ${width} logits, ${numDurations} after the vocabulary's ${opts.vocabSize} tokens, but config.json lists ${durations.length} durations: vocab.txt or config.json belongs to another model`,
    );
  }
  return {
    featuresSize: opts.featuresSize,
    tdt: {
      numClasses: opts.vocabSize,
      blankId: opts.blankId,
      durations,
      maxSymbolsPerFrame: opts.maxSymbolsPerFrame,
      encoderDim: dim,
      stateLayers: layers,
      stateHidden: hidden,
    },
  };
}
