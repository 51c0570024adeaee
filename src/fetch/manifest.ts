/**
 * The models `fetch-model` can download: for each, where its files live and what they are.
 *
 * Sizes and SHA-256 digests are written here when they are known. The public parakeet-tdt-0.6b-v3
 * ONNX release could not be reached from the machines this project is built on, so its digests
 * are not pinned: for those files the digest the hub itself announces (Hugging Face sends the
 * SHA-256 of every LFS file in `X-Linked-Etag`) is checked instead, and a file with neither is
 * reported as unverified. A pinned digest always wins over the server's.
 */
export type Precision = "fp32" | "int8";

export interface ManifestFile {
  name: string;
  /** Which precision needs the file; "both" for the shared ones (vocabulary, config). */
  precision: Precision | "both";
  /** Bytes, when known; checked before the file is kept. */
  size?: number;
  /** Lower-case hex SHA-256, when known. */
  sha256?: string;
}

export interface ModelManifest {
  name: string;
  /**
   * Base URL; the file name is appended and `{revision}` replaced by the revision fetched.
   * MODEL_BASE_URL or --base-url replaces it.
   */
  baseUrl: string;
  /** The hub commit the manifest's files were checked at; without one, `main` (with a warning). */
  revision?: string;
  files: readonly ManifestFile[];
}

export const MODELS: Readonly<Record<string, ModelManifest>> = {
  "parakeet-tdt-0.6b-v3": {
    name: "parakeet-tdt-0.6b-v3",
    baseUrl: "https://huggingface.co/istupakov/parakeet-tdt-0.6b-v3-onnx/resolve/{revision}",
    files: [
      { name: "config.json", precision: "both" },
      { name: "vocab.txt", precision: "both" },
      { name: "encoder-model.onnx", precision: "fp32" },
      { name: "encoder-model.onnx.data", precision: "fp32" },
      { name: "decoder_joint-model.onnx", precision: "fp32" },
      { name: "encoder-model.int8.onnx", precision: "int8" },
      { name: "decoder_joint-model.int8.onnx", precision: "int8" },
    ],
  },
};

export const DEFAULT_MODEL = "parakeet-tdt-0.6b-v3";

/** The files of `manifest` that `precision` ("all" = fp32 and int8) needs. */
export function filesFor(
  manifest: ModelManifest,
  precision: Precision | "all",
): ManifestFile[] {
  return manifest.files.filter((f) =>
    precision === "all" || f.precision === "both" || f.precision === precision
  );
}
