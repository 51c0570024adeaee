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

/** What makes two runs' figures comparable (the load average is a reading, not the machine). */
const MACHINE_KEYS = ["cpu", "cores", "ram_gb", "os", "deno", "onnxruntime"] as const;

export function sameMachine(a: Record<string, unknown>, b: Record<string, unknown>): boolean {
  return MACHINE_KEYS.every((k) => a[k] === b[k]);
}

/**
 * Today's results file for this machine: `<date>-<host>.json`, unless that file describes
 * another machine (a VM that came back on other hardware under the same name), then
 * `<date>-<host>-<cpu>.json`. A partial run merges into the file this names, so its figures
 * never sit under another machine's description. `describedIn` reads a file's machine record
 * (null when there is no such file).
 */
export function resultsFileName(
  date: string,
  machine: Record<string, unknown>,
  describedIn: (name: string) => Record<string, unknown> | null,
): string {
  const plain = `${date}-${machine.hostname}.json`;
  const there = describedIn(plain);
  if (there === null || sameMachine(there, machine)) return plain;
  const cpu = String(machine.cpu).toLowerCase().replace(/\([^)]*\)/g, "").replace(
    /[^a-z0-9]+/g,
    "-",
  ).replace(/^-+|-+$/g, "");
  return `${date}-${machine.hostname}-${cpu || "cpu"}.json`;
}
