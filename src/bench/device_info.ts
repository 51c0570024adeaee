/**
 * The device a benchmark measured: for CUDA, what `nvidia-smi` says of the GPUs (name, memory,
 * driver); for the CPU, its model and cores. Read after the session was created on the device,
 * so it describes hardware that was really used.
 */
import { cpuModel, ramGb } from "./machine.ts";

export interface GpuInfo {
  name: string;
  memory_total: string;
  driver_version: string;
}

export type DeviceDescription =
  | { kind: "cpu"; name: string; cores: number; ram_gb: number }
  | {
    kind: "cuda";
    /** The first GPU's name, or why none could be read. */
    name: string;
    /** ONNX Runtime's CUDA device 0: nvidia-smi's first GPU unless CUDA_VISIBLE_DEVICES says otherwise. */
    cuda_device_id: 0;
    gpus: GpuInfo[];
    /** "ok", or why nvidia-smi gave nothing. */
    nvidia_smi: string;
    cuda_visible_devices: string | null;
  };

export const NVIDIA_SMI_ARGS = [
  "--query-gpu=name,memory.total,driver_version",
  "--format=csv,noheader",
];

/** `nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader` output. */
export function parseNvidiaSmi(csv: string): GpuInfo[] {
  return csv.split("\n").map((l) => l.trim()).filter((l) => l !== "").map((line) => {
    // GPU names hold no commas; the fields are "name, 81559 MiB, 550.54.15".
    const [name = "", memory = "", driver = ""] = line.split(",").map((f) => f.trim());
    return { name, memory_total: memory, driver_version: driver };
  });
}

export async function describeDevice(
  device: "cpu" | "cuda",
  opts: { nvidiaSmi?: string } = {},
): Promise<DeviceDescription> {
  if (device === "cpu") {
    return { kind: "cpu", name: cpuModel(), cores: navigator.hardwareConcurrency, ram_gb: ramGb() };
  }
  const { gpus, status } = await queryNvidiaSmi(opts.nvidiaSmi ?? "nvidia-smi");
  return {
    kind: "cuda",
    name: gpus[0]?.name || `unknown GPU (${status})`,
    cuda_device_id: 0,
    gpus,
    nvidia_smi: status,
    cuda_visible_devices: Deno.env.get("CUDA_VISIBLE_DEVICES") ?? null,
  };
}

async function queryNvidiaSmi(cmd: string): Promise<{ gpus: GpuInfo[]; status: string }> {
  try {
    const out = await new Deno.Command(cmd, {
      args: NVIDIA_SMI_ARGS,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    if (!out.success) {
      const why = dec.decode(out.stderr).trim().split("\n")[0] || dec.decode(out.stdout).trim();
      return { gpus: [], status: `${cmd} exited ${out.code}: ${why}` };
    }
    const gpus = parseNvidiaSmi(dec.decode(out.stdout));
    return { gpus, status: gpus.length ? "ok" : `${cmd} listed no GPU` };
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return { gpus: [], status: `${cmd} not found` };
    return { gpus: [], status: `${cmd} failed: ${(err as Error).message}` };
  }
}

/** A file-name-safe form of a device name: "NVIDIA H100 80GB HBM3" → "nvidia-h100-80gb-hbm3". */
export function deviceSlug(name: string): string {
  return name.toLowerCase().replace(/\(r\)|\(tm\)/g, "").replace(/[^a-z0-9]+/g, "-")
    .replace(/^-+|-+$/g, "").slice(0, 60) || "device";
}
