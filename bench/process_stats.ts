/** A server process's resident memory and open file descriptors, read from /proc (Linux). */

export interface ProcessStats {
  rssMiB: number;
  /** Resident anonymous memory (heaps, arenas) and resident file pages (code, mapped files). */
  anonMiB: number;
  fileMiB: number;
  fds: number;
}

/** VmRSS, RssAnon and RssFile from /proc/<pid>/status, and the entries of /proc/<pid>/fd. */
export function procStats(pid: number): ProcessStats {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  const kib = (field: string) => Number(status.match(new RegExp(`${field}:\\s+(\\d+)`))?.[1] ?? 0);
  const fds = [...Deno.readDirSync(`/proc/${pid}/fd`)].length;
  return {
    rssMiB: kib("VmRSS") / 1024,
    anonMiB: kib("RssAnon") / 1024,
    fileMiB: kib("RssFile") / 1024,
    fds,
  };
}
