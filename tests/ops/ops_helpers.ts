/**
 * Shared by the operations tests: a copy of the repository (what a fresh clone holds, taken from
 * the working tree so uncommitted changes are tested too), free ports, subprocesses.
 */
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");

export interface CmdResult {
  code: number;
  stdout: string;
  stderr: string;
}

export async function run(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env?: Record<string, string>; clearEnv?: boolean } = {},
): Promise<CmdResult> {
  const out = await new Deno.Command(cmd, {
    args,
    cwd: opts.cwd,
    env: opts.env,
    clearEnv: opts.clearEnv,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** A TCP port that was free a moment ago (bound, then released). */
export function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** Is `which` on PATH? (Tests that need a tool say so when it is missing.) */
export async function hasTool(name: string): Promise<boolean> {
  try {
    return (await run("bash", ["-c", `command -v ${name}`])).code === 0;
  } catch {
    return false;
  }
}

/**
 * A fresh-clone-like copy of the repository in a temporary directory: the files git tracks or
 * would track (not tests/ or bench/), with `.tools/bin/deno` and the ONNX Runtime library
 * pre-installed from this checkout so setup.sh finds them and does not download again.
 */
export async function copyRepo(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "parakeet-ops-" });
  const ls = await run("git", ["ls-files", "--cached", "--others", "--exclude-standard"], {
    cwd: ROOT,
  });
  if (ls.code !== 0) throw new Error(`git ls-files failed in ${ROOT}: ${ls.stderr}`);
  for (const rel of ls.stdout.split("\n")) {
    if (!rel || /^(tests|bench)\//.test(rel) || rel.startsWith("models/test/tiny-tdt-nemo/")) {
      continue;
    }
    let st: Deno.FileInfo;
    try {
      st = Deno.lstatSync(`${ROOT}/${rel}`);
    } catch {
      continue; // deleted in the working tree
    }
    const dest = `${dir}/${rel}`;
    Deno.mkdirSync(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    if (st.isSymlink) Deno.symlinkSync(Deno.readLinkSync(`${ROOT}/${rel}`), dest);
    else Deno.copyFileSync(`${ROOT}/${rel}`, dest);
  }
  installTools(dir);
  return dir;
}

/** What setup.sh would install (Deno, the CPU ONNX Runtime), taken from this checkout. */
export function installTools(dir: string): void {
  Deno.mkdirSync(`${dir}/.tools/bin`, { recursive: true });
  Deno.symlinkSync(Deno.realPathSync(`${ROOT}/.tools/bin/deno`), `${dir}/.tools/bin/deno`);
  Deno.mkdirSync(`${dir}/.tools/lib`);
  for (const e of Deno.readDirSync(`${ROOT}/.tools/lib`)) {
    if (e.name.startsWith("libonnxruntime") || e.name === ".installed") {
      const src = `${ROOT}/.tools/lib/${e.name}`;
      if (e.isSymlink) Deno.symlinkSync(Deno.readLinkSync(src), `${dir}/.tools/lib/${e.name}`);
      else Deno.copyFileSync(src, `${dir}/.tools/lib/${e.name}`);
    }
  }
}

/** True when `pid` is a live process (not a zombie). */
export function alive(pid: number): boolean {
  try {
    const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
    return !/^\d+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
}

/** Last resort in a test's `finally`: the process group main.sh created, if still there. */
export function killGroup(pid: number): void {
  if (!alive(pid)) return;
  try {
    Deno.kill(-pid, "SIGKILL");
  } catch {
    try {
      Deno.kill(pid, "SIGKILL");
    } catch { /* gone */ }
  }
}

/** Waits until `pred` holds or `ms` pass. */
export async function waitFor(
  pred: () => boolean | Promise<boolean>,
  ms: number,
): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await pred()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return await pred();
}
