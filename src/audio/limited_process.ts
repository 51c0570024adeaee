/**
 * A decoder process held to kernel limits: the shell that starts it sets RLIMIT_CPU (`ulimit -t`)
 * and RLIMIT_AS (`ulimit -v`), then becomes it (`exec`: the same pid, so the server's kill and
 * reap reach the decoder itself, and nothing is left between them). Deno's Command has no hook
 * between fork and exec, hence the shell. Used by every ffmpeg the server runs: a live stream's
 * and an upload's.
 */

export interface ProcessLimits {
  /**
   * CPU seconds the process may use in all, every thread counted (RLIMIT_CPU, soft and hard):
   * at the limit the kernel kills it with SIGKILL.
   */
  cpuSeconds: number;
  /** Address space in MiB (RLIMIT_AS): an allocation or a library mapping past it fails. */
  memoryMiB: number;
}

/**
 * Address space for one ffmpeg. Its shared libraries map about 260 MiB before it reads a byte (it
 * does not start under 256 MiB); it decodes as it reads, so little is added (measured peaks, ffmpeg
 * 5.1: 278-285 MiB for an hour of FLAC, MP3, Opus or AAC in M4A; 323 MiB for three hours of 96
 * kHz AAC, whose MP4 index grows with its frame count). A file that drives ffmpeg to allocate
 * without end fails here instead of taking the host's memory. The margin matters: a failed
 * allocation in the MP4 demuxer's index ("Cannot add index entry") ends the input early with exit
 * status 0, so the limit must sit well above any real file's need.
 */
export const FFMPEG_MEMORY_MIB = 512;

/** The shell's exit status for a command it cannot find (POSIX). */
const NOT_FOUND_STATUS = 127;

/**
 * `executable` (a path, or a name looked up on PATH) run with `args` under `limits`; stdout and
 * stderr piped. A missing executable is not an error here: the process exits with status 127
 * and says so on stderr (see `executableMissing`).
 */
export function limitedCommand(
  executable: string,
  args: string[],
  limits: ProcessLimits,
  stdin: "piped" | "null",
): Deno.Command {
  // The lookup comes first and says "not found" in one wording whatever the shell (bash's own
  // exec says "No such file or directory" for a path), and before a memory limit could make the
  // dynamic loader fail with the same status 127.
  const lookup =
    `command -v "$0" >/dev/null || { echo "$0: not found" >&2; exit ${NOT_FOUND_STATUS}; }`;
  const cpu = Math.ceil(limits.cpuSeconds);
  const kib = Math.ceil(limits.memoryMiB) * 1024;
  const script = `${lookup}; ulimit -t ${cpu} && ulimit -v ${kib} && exec "$0" "$@"`;
  return new Deno.Command("/bin/sh", {
    args: ["-c", script, executable, ...args],
    stdin,
    stdout: "piped",
    stderr: "piped",
  });
}

/** True when a limited process ended because its executable could not be found. */
export function executableMissing(status: Deno.CommandStatus, stderr: string): boolean {
  return status.code === NOT_FOUND_STATUS && /: not found\s*$/.test(stderr);
}

/**
 * True when the process was killed by its CPU-time limit, as far as its status tells: SIGKILL at
 * the hard limit (SIGXCPU if a soft limit below it is ever set). The caller rules out its own
 * kills.
 */
export function cpuLimitSignal(status: Deno.CommandStatus): boolean {
  return status.signal === "SIGKILL" || status.signal === "SIGXCPU";
}

/**
 * True when the process says an allocation failed: ffmpeg's ENOMEM ("Cannot allocate memory"),
 * the dynamic loader's mapping failure, a library's own out-of-memory message.
 */
export function outOfMemory(stderr: string): boolean {
  return /Cannot allocate memory|failed to map segment|out of memory|bad_alloc/i.test(stderr);
}
