/** Processes of this machine seen through /proc (Linux), for tests that check what is left. */

/** The pids whose parent is `ppid` and whose command name is `comm`. */
export function childrenNamed(ppid: number, comm: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    let stat: string;
    try {
      stat = Deno.readTextFileSync(`/proc/${e.name}/stat`);
    } catch {
      continue; // exited while listing
    }
    // "pid (comm) state ppid …": comm may hold spaces and parentheses, so split at the last ")".
    const close = stat.lastIndexOf(")");
    const name = stat.slice(stat.indexOf("(") + 1, close);
    const ppidOf = Number(stat.slice(close + 2).split(" ")[1]);
    if (ppidOf === ppid && name === comm) out.push(Number(e.name));
  }
  return out;
}

/** True while the pid exists (a zombie counts: it was not reaped). */
export function exists(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/** Polls `check` every 5 ms until it returns a value other than undefined, or `ms` pass. */
export async function waitFor<T>(check: () => T | undefined, ms: number): Promise<T | undefined> {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    const v = check();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 5));
  }
  return check();
}

/** Resident memory of a process in MiB (VmRSS). */
export function rssMiB(pid: number | "self" = "self"): number {
  const status = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(status.match(/VmRSS:\s+(\d+)/)![1]) / 1024;
}

/** True while the pid runs (exists and is not a zombie waiting for a parent to reap it). */
export function running(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}
