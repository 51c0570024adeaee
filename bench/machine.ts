/** The machine a benchmark ran on, from /proc and the tools themselves (Linux). */
export function describeMachine(ortVersion: string): Record<string, unknown> {
  const read = (p: string) => {
    try {
      return Deno.readTextFileSync(p);
    } catch {
      return "";
    }
  };
  const cpu = read("/proc/cpuinfo").match(/^model name\s*:\s*(.+)$/m)?.[1] ?? "unknown";
  const memKb = Number(read("/proc/meminfo").match(/^MemTotal:\s*(\d+)/m)?.[1] ?? 0);
  const os = read("/etc/os-release").match(/^PRETTY_NAME="?([^"\n]+)/m)?.[1] ?? Deno.build.os;
  return {
    hostname: Deno.hostname(),
    cpu,
    cores: navigator.hardwareConcurrency,
    ram_gb: Math.round(memKb / 1024 / 1024 * 10) / 10,
    os: `${os}, kernel ${Deno.osRelease()}`,
    deno: Deno.version.deno,
    onnxruntime: ortVersion,
    load_average: loadAverage(),
    note: "CPUs shared with other work while measuring: see load_average at start and end",
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
