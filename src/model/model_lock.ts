/**
 * `model.lock.json`: what a model directory held when it was first fetched — the hub revision
 * and each file's size and SHA-256. A later fetch refuses an upstream file that differs from it,
 * and a start refuses a local file that no longer matches it, so a model never changes under a
 * deployment without someone deciding it should.
 */
import { createHash } from "node:crypto";
import { ModelLoadError } from "./model_files.ts";

export const LOCK_FILE = "model.lock.json";

export interface LockedFile {
  bytes: number;
  sha256: string;
}

export interface ModelLock {
  model: string;
  revision: string;
  files: Record<string, LockedFile>;
}

/** Files at most this large are hashed at every start; larger ones are checked by size. */
export const HASH_AT_START_MAX_BYTES = 128 * 1024 * 1024;

export function readModelLock(dir: string): ModelLock | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(`${dir}/${LOCK_FILE}`);
  } catch (err) {
    if (err instanceof Deno.errors.NotFound) return null;
    throw err;
  }
  const lock = JSON.parse(text) as ModelLock;
  if (
    typeof lock?.revision !== "string" || typeof lock.files !== "object" || lock.files === null
  ) {
    throw new ModelLoadError(`${dir}/${LOCK_FILE}: not a model lock (revision and files expected)`);
  }
  return lock;
}

export function writeModelLock(dir: string, lock: ModelLock): void {
  const tmp = `${dir}/${LOCK_FILE}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(lock, null, 2) + "\n");
  Deno.renameSync(tmp, `${dir}/${LOCK_FILE}`);
}

export async function sha256OfFile(path: string): Promise<string> {
  const hash = createHash("sha256");
  using file = await Deno.open(path, { read: true });
  for await (const chunk of file.readable) hash.update(chunk);
  return hash.digest("hex");
}

/**
 * Checks a model directory against its lock, if it has one: every locked file that is present
 * must have its locked size, and its locked SHA-256 when it is small enough to hash quickly
 * (config, vocabulary, joint). Returns what was checked; throws ModelLoadError naming the file.
 */
export async function verifyModelLock(
  dir: string,
): Promise<{ lock: ModelLock | null; hashed: string[]; sized: string[] }> {
  const lock = readModelLock(dir);
  const hashed: string[] = [];
  const sized: string[] = [];
  if (!lock) return { lock, hashed, sized };
  for (const [name, want] of Object.entries(lock.files)) {
    let size: number;
    try {
      size = Deno.statSync(`${dir}/${name}`).size;
    } catch {
      continue; // a precision not fetched: the model loader names missing files it needs
    }
    const changed = (detail: string) =>
      new ModelLoadError(
        `${dir}/${name} no longer matches ${LOCK_FILE} (${detail}; fetched from revision ${lock.revision}): ` +
          `it changed after it was fetched. Fetch the model again, or delete ${LOCK_FILE} to accept the file as it is`,
      );
    if (size !== want.bytes) throw changed(`${size} bytes, locked ${want.bytes}`);
    if (size <= HASH_AT_START_MAX_BYTES) {
      if (await sha256OfFile(`${dir}/${name}`) !== want.sha256) {
        throw changed("its SHA-256 differs from the locked one");
      }
      hashed.push(name);
    } else sized.push(name);
  }
  return { lock, hashed, sized };
}
