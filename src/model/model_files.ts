import { join, resolve } from "node:path";

/** Which weights of a model directory to load: the fp32 export or its int8 quantisation. */
export type Precision = "fp32" | "int8";

/** The files of a Parakeet-TDT ONNX model directory, as the NeMo export and onnx-asr lay it out. */
export interface ModelFiles {
  dir: string;
  precision: Precision;
  encoder: string;
  decoderJoint: string;
  vocab: string;
  config: string;
}

export class ModelLoadError extends Error {
  override name = "ModelLoadError";
}

export function modelFileNames(precision: Precision): { encoder: string; decoderJoint: string } {
  const suffix = precision === "int8" ? ".int8" : "";
  return {
    encoder: `encoder-model${suffix}.onnx`,
    decoderJoint: `decoder_joint-model${suffix}.onnx`,
  };
}

/** Finds a model directory's files; a missing one is named with what the directory holds. */
export function locateModelFiles(dir: string, precision: Precision): ModelFiles {
  const abs = resolve(dir);
  let entries: string[];
  try {
    const info = Deno.statSync(abs);
    if (!info.isDirectory) {
      throw new ModelLoadError(`model ${abs} is not a directory (a model is a directory of files)`);
    }
    entries = [...Deno.readDirSync(abs)].map((e) => e.name).sort();
  } catch (err) {
    if (err instanceof ModelLoadError) throw err;
    if (err instanceof Deno.errors.NotFound) {
      throw new ModelLoadError(`model directory ${abs} does not exist`);
    }
    throw new ModelLoadError(`cannot read model directory ${abs}: ${(err as Error).message}`);
  }
  const names = { ...modelFileNames(precision), vocab: "vocab.txt", config: "config.json" };
  const missing = Object.values(names).filter((n) => !entries.includes(n));
  if (missing.length > 0) {
    const hint = precision === "int8" && !entries.includes(names.encoder) &&
        entries.includes("encoder-model.onnx")
      ? " (this directory has no int8 export; leave out --int8)"
      : "";
    throw new ModelLoadError(
      `model directory ${abs} lacks ${missing.join(", ")}${hint}; it contains: ${
        entries.length ? entries.join(", ") : "nothing"
      }`,
    );
  }
  return {
    dir: abs,
    precision,
    encoder: join(abs, names.encoder),
    decoderJoint: join(abs, names.decoderJoint),
    vocab: join(abs, names.vocab),
    config: join(abs, names.config),
  };
}
