/** The machine a benchmark ran on, from /proc and the tools themselves (Linux). */

function readOr(path: string): string {
  try {
    return Deno.readTextFileSync(path);
  } catch {
    return "";
  }
}

/** The CPU's model name from /proc/cpuinfo ("unknown" elsewhere). */
export function cpuModel(): string {
  return readOr("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)?.[1].trim() ?? "unknown";
}

/** Total RAM in GB, one decimal (0 when /proc/meminfo is unreadable). */
export function ramGb(): number {
  const memKb = Number(readOr("/proc/meminfo").match(/^MemTotal:\s*(\d+)/m)?.[1] ?? 0);
  return Math.round(memKb / 1024 / 1024 * 10) / 10;
}

export function describeMachine(
  ortVersion: string,
  note = "CPUs shared with other work while measuring: see load_average at start and end",
): Record<string, unknown> {
  const os = readOr("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]+)/m)?.[1] ?? Deno.build.os;
  return {
    hostname: Deno.hostname(),
    cpu: cpuModel(),
    cores: navigator.hardwareConcurrency,
    ram_gb: ramGb(),
    os: `${os}, kernel ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    onnxruntime: ortVersion,
    load_average: loadAverage(),
    note,
  };
}

export function loadAverage(): number[] {
  try {
    return Deno.readTextFileSync("/proc/loadavg").split(" ").slice(0, 3).map(Number);
  } catch {
    return [];
  }
}

/** Resident memory of a process in MB (VmRSS). */
export function rssMb(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(s.match(/^VmRSS:\s*(\d+)/m)?.[1] ?? 0) / 1024;
}
