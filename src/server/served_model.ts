/**
 * The name the server gives the model it serves, on every OpenAI-shaped answer (`/v1/models`,
 * a transcription's `model`, a Realtime session's transcription model). One model is served; the
 * model a request names never changes it and is never reported back as if it had.
 */
import { readModelLock } from "../model/model_lock.ts";

export interface ServedModel {
  /** `model.lock.json`'s `model` (the name fetch-model fetched it as), else the folder's name. */
  id: string;
  /** Unix seconds: when the model's config.json was last written (0 when unknown). */
  created: number;
  owner: string;
}

/**
 * Names the served model after something real on disk: the lock fetch-model writes records the
 * manifest name it fetched (e.g. `parakeet-tdt-0.6b-v3`); a folder made by hand is named by its
 * base name, which is how its owner already refers to it.
 */
export function describeServedModel(dir: string): ServedModel {
  let locked: string | null = null;
  try {
    const name = readModelLock(dir)?.model;
    if (typeof name === "string" && name.trim() !== "") locked = name.trim();
  } catch {
    // An unreadable lock stops the server at start (model_lock.ts); the folder name stands in.
  }
  const base = dir.replace(/[\\/]+$/, "").split(/[\\/]/).pop() || "model";
  let created = 0;
  try {
    const mtime = Deno.statSync(`${dir}/config.json`).mtime;
    if (mtime) created = Math.floor(mtime.getTime() / 1000);
  } catch {
    // No config.json to date it by: 0, as OpenAI's schema needs a number.
  }
  // A model fetch-model fetched is one of the published Parakeet exports (NVIDIA's).
  return { id: locked ?? base, created, owner: locked ? "nvidia" : "local" };
}
