/**
 * Private folders for inputs ffmpeg must seek in (MP4's index may sit at the end), under one
 * root the server owns: `$TMPDIR/parakeet-server-<uid>/decode-<pid>-<random>`. The owning pid
 * is in the name so a server killed before its `finally` ran can have its folders swept at the
 * next start: a folder whose pid is gone, or is the new server's own (a container restarts as
 * pid 1 again), is left over.
 */

/** The prefix of every folder made here; nothing else in the root is touched. */
export const DECODE_DIR_PREFIX = "decode-";

function tmpDir(): string {
  try {
    return Deno.env.get("TMPDIR") || "/tmp";
  } catch {
    return "/tmp";
  }
}

function uid(): number | null {
  try {
    return Deno.uid();
  } catch {
    return null;
  }
}

/** The server's temp root (one per user, so one user's server never writes into another's). */
export function decodeTempRoot(): string {
  const id = uid();
  return `${tmpDir()}/parakeet-server${id === null ? "" : `-${id}`}`;
}

/**
 * Creates the root if needed (mode 0700) and refuses one that is a symlink or not ours: a folder
 * another user made in a shared /tmp must not receive our uploads.
 */
async function ensureRoot(root: string): Promise<void> {
  await Deno.mkdir(root, { recursive: true, mode: 0o700 });
  const info = await Deno.lstat(root);
  const me = uid();
  if (!info.isDirectory || (me !== null && info.uid !== null && info.uid !== me)) {
    throw new Error(`temp root ${root} is not a directory owned by this user`);
  }
}

/** A new private folder for one decode; the caller removes it (see `withDecodeDir`). */
export async function makeDecodeDir(root = decodeTempRoot()): Promise<string> {
  await ensureRoot(root);
  return await Deno.makeTempDir({ dir: root, prefix: `${DECODE_DIR_PREFIX}${Deno.pid}-` });
}

/** Runs `work` with a fresh private folder and removes the folder on every path. */
export async function withDecodeDir<T>(
  work: (dir: string) => Promise<T>,
  root = decodeTempRoot(),
): Promise<T> {
  const dir = await makeDecodeDir(root);
  try {
    return await work(dir);
  } finally {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
  }
}

/** True while a process with this pid exists (Linux /proc; elsewhere assumed alive). */
export function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) {
      try {
        Deno.statSync("/proc/self");
        return false; // /proc works and the pid is not in it
      } catch {
        return true; // no /proc: cannot tell, keep the folder
      }
    }
    return true;
  }
}

/** The pid a decode folder's name carries, or null for anything not made here. */
export function ownerPid(name: string): number | null {
  const m = name.match(/^decode-(\d+)-/);
  return m ? Number(m[1]) : null;
}

/**
 * Removes the decode folders a killed server left: those whose owning pid is gone or is this
 * process (which has made none yet when this runs at start). Returns the names removed.
 */
export async function sweepStaleDecodeDirs(
  root = decodeTempRoot(),
  alive: (pid: number) => boolean = pidAlive,
): Promise<string[]> {
  const removed: string[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = await Array.fromAsync(Deno.readDir(root));
  } catch {
    return removed; // no root yet: nothing to sweep
  }
  for (const e of entries) {
    const pid = ownerPid(e.name);
    if (pid === null || !e.isDirectory) continue;
    if (pid !== Deno.pid && alive(pid)) continue;
    await Deno.remove(`${root}/${e.name}`, { recursive: true }).catch(() => {});
    removed.push(e.name);
  }
  return removed;
}
