import { fileURLToPath } from "node:url";

/**
 * The small demo model shipped in the repository (models/demo: spoken digits), used when no
 * model is named. Models are real files, never inside a compiled binary: when this module runs
 * from `deno compile`'s embedded tree (where the path does not exist), the model is looked up
 * beside the executable (`models/demo`) and in the checkout around it (`dist/parakeet-server` →
 * `models/demo`).
 */
export function defaultModelDir(execPath: string = Deno.execPath()): string {
  const source = fileURLToPath(new URL("../../models/demo", import.meta.url));
  const exeDir = execPath.slice(0, execPath.lastIndexOf("/"));
  const candidates = [source, `${exeDir}/models/demo`, `${exeDir}/../models/demo`];
  for (const dir of candidates) {
    try {
      if (Deno.statSync(`${dir}/config.json`).isFile) return dir;
    } catch { /* next */ }
  }
  return source; // the error that follows names the path the repository layout expects
}
