import { fileURLToPath } from "node:url";

/**
 * Where fetched models live: MODEL_CACHE, else `$HF_HOME/parakeet-server`, else
 * `<repository>/.cache/hf/parakeet-server` (the seed's HF_HOME default). scripts/steps/lib.sh
 * computes the same path so that scripts/stop.sh purges exactly this directory and nothing else
 * of a shared HF_HOME.
 */
export function modelCacheDir(env: Record<string, string | undefined>): string {
  if (env.MODEL_CACHE) return env.MODEL_CACHE;
  const hfHome = env.HF_HOME || fileURLToPath(new URL("../../.cache/hf", import.meta.url));
  return `${hfHome}/parakeet-server`;
}
