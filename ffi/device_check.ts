/**
 * Which files the CUDA execution provider needs, and the first one that is missing — the pure
 * part of device selection. ORT's own status for a failed CUDA append says only "Failed to load
 * shared library" whatever the cause, so we look ourselves and name the missing piece and what
 * provides it.
 */

export interface CudaRequirement {
  /** File name (a SONAME for the CUDA libraries). */
  name: string;
  /** What it is and where it comes from. */
  what: string;
  /** What the user should do when it is missing. */
  fix: string;
  /**
   * "beside": must be a file in the ONNX Runtime library's directory.
   * "driver": loaded by name only (the host's NVIDIA driver installs it system-wide).
   * "runtime": beside the library (loaded by absolute path) or else by name from the system.
   */
  where: "beside" | "driver" | "runtime";
}

const GPU_SETUP = "ORT_FLAVOR=gpu bash scripts/setup.sh";
const CPU_BUILD = `this ONNX Runtime is the CPU build; run ${GPU_SETUP} to install the GPU build`;
const RUNTIME_FIX =
  `run ${GPU_SETUP} (installs NVIDIA's CUDA 13 runtime wheels beside the library)`;

/** In the order they are checked (and must be loaded: later ones need earlier ones). */
export const CUDA_REQUIREMENTS: readonly CudaRequirement[] = [
  {
    name: "libonnxruntime_providers_shared.so",
    what: "ONNX Runtime's provider bridge",
    fix: CPU_BUILD,
    where: "beside",
  },
  {
    name: "libonnxruntime_providers_cuda.so",
    what: "ONNX Runtime's CUDA execution provider",
    fix: CPU_BUILD,
    where: "beside",
  },
  {
    name: "libcuda.so.1",
    what: "the NVIDIA driver library",
    fix: "it comes only from the host's NVIDIA driver: install the driver " +
      "(in Docker: run with --gpus all and the NVIDIA container toolkit)",
    where: "driver",
  },
  {
    name: "libcudart.so.13",
    what: "CUDA 13 runtime (PyPI nvidia-cuda-runtime)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
  {
    name: "libcublasLt.so.13",
    what: "cuBLASLt 13 (PyPI nvidia-cublas)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
  {
    name: "libcublas.so.13",
    what: "cuBLAS 13 (PyPI nvidia-cublas)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
  {
    name: "libcurand.so.10",
    what: "cuRAND (PyPI nvidia-curand)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
  {
    name: "libcufft.so.12",
    what: "cuFFT (PyPI nvidia-cufft)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
  {
    name: "libcudnn.so.9",
    what: "cuDNN 9 (PyPI nvidia-cudnn-cu13)",
    fix: RUNTIME_FIX,
    where: "runtime",
  },
];

/** The file system and loader, injected so the logic is testable without either. */
export interface CudaProbe {
  /** Whether a file exists at this absolute path. */
  exists(path: string): boolean;
  /** dlopen by absolute path or bare name: null on success, else the loader's message. */
  load(pathOrName: string): string | null;
}

export interface MissingPiece {
  requirement: CudaRequirement;
  /** What was tried and why it failed. */
  detail: string;
}

export interface CudaFileReport {
  ok: boolean;
  missing: MissingPiece[];
  /** One line naming the first missing piece, what provides it, and the other gaps. */
  message?: string;
}

/**
 * Checks every requirement against the ONNX Runtime library directory `ortDir`. When the
 * provider itself is absent the rest is not looked at (it cannot matter for a CPU build).
 */
export function checkCudaFiles(ortDir: string, probe: CudaProbe): CudaFileReport {
  const missing: MissingPiece[] = [];
  for (const req of CUDA_REQUIREMENTS) {
    const beside = `${ortDir}/${req.name}`;
    let detail: string | null = null;
    if (req.where === "beside") {
      detail = probe.exists(beside) ? null : `not found in ${ortDir}`;
    } else if (req.where === "runtime" && probe.exists(beside)) {
      // Loading it by absolute path puts it on the loader's list, so the provider's NEEDED
      // entries (it has no RUNPATH) are satisfied by SONAME later.
      const err = probe.load(beside);
      detail = err === null ? null : `${beside} does not load: ${err}`;
    } else {
      const err = probe.load(req.name);
      detail = err === null ? null : `not in ${ortDir} and not loadable by name: ${err}`;
      if (req.where === "driver" && err !== null) detail = `not loadable by name: ${err}`;
    }
    if (detail !== null) missing.push({ requirement: req, detail });
    if (req.where === "beside" && detail !== null) break;
  }
  if (missing.length === 0) return { ok: true, missing };
  const [first, ...rest] = missing;
  let message = `CUDA is not usable: ${first.requirement.name} (${first.requirement.what}) is ` +
    `missing — ${first.detail}; ${first.requirement.fix}.`;
  if (rest.length > 0) {
    message += ` Also missing: ${rest.map((m) => m.requirement.name).join(", ")}.`;
  }
  return { ok: false, missing, message };
}
