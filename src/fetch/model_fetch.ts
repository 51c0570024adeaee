import {
  type LockedFile,
  type ModelLock,
  readModelLock,
  sha256OfFile,
  writeModelLock,
} from "../model/model_lock.ts";
import { downloadFile, type DownloadOptions, FetchError, probeFile } from "./download.ts";
import { filesFor, type ModelManifest, type Precision } from "./manifest.ts";

/**
 * Fetches every file a model needs into `<cacheDir>/<name>/`. Files already complete are kept
 * (a record in `.fetch-record.json` says how each was verified); the others are downloaded with
 * resume. The directory is usable only when this resolves: a failure names the file and leaves
 * the finished files and the `.part` of the failed one for the next run.
 */
export interface FetchedFile {
  name: string;
  bytes: number;
  sha256: string | null;
  verifiedBy: "manifest" | "lock" | "server" | "none" | "unchecked-existing";
  status: "downloaded" | "resumed" | "present";
}

export interface FetchModelOptions {
  cacheDir: string;
  baseUrl?: string;
  /** Hub revision (a commit, a tag or a branch); default the manifest's pinned one, else main. */
  revision?: string;
  precision: Precision | "all";
  download?: Omit<DownloadOptions, "expectedSha256" | "expectedSize">;
  log?: (line: string) => void;
}

type Record = { [file: string]: Omit<FetchedFile, "name" | "status"> };
const RECORD = ".fetch-record.json";

function readRecord(dir: string): Record {
  try {
    return JSON.parse(Deno.readTextFileSync(`${dir}/${RECORD}`)) as Record;
  } catch {
    return {};
  }
}

function writeRecord(dir: string, record: Record): void {
  const tmp = `${dir}/${RECORD}.tmp`;
  Deno.writeTextFileSync(tmp, JSON.stringify(record, null, 2) + "\n");
  Deno.renameSync(tmp, `${dir}/${RECORD}`);
}

function existingSize(path: string): number | null {
  try {
    const st = Deno.statSync(path);
    return st.isFile ? st.size : null;
  } catch {
    return null;
  }
}

/** The revision to fetch and whether it is pinned to something that cannot move. */
export function chooseRevision(
  manifest: ModelManifest,
  requested: string | undefined,
): { revision: string; warning: string | null } {
  const revision = requested || manifest.revision || "main";
  if (!/^[\w.-]{1,128}$/.test(revision)) {
    throw new FetchError(
      `revision "${
        revision.slice(0, 80)
      }" is not a commit, tag or branch name (letters, digits, . _ -)`,
    );
  }
  const pinned = /^[0-9a-f]{40}$/.test(revision);
  return {
    revision,
    warning: pinned
      ? null
      : `revision "${revision}" is not a commit: the files it names can change ` +
        `upstream (set MODEL_REVISION to a commit; ${`model.lock.json`} notices a changed file)`,
  };
}

export async function fetchModel(
  manifest: ModelManifest,
  opts: FetchModelOptions,
): Promise<{ dir: string; files: FetchedFile[]; revision: string; lockWritten: boolean }> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const dir = `${opts.cacheDir}/${manifest.name}`;
  const { revision, warning } = chooseRevision(manifest, opts.revision);
  if (warning) log(`WARNING: ${warning}`);
  const base = (opts.baseUrl ?? manifest.baseUrl).replaceAll(
    "{revision}",
    encodeURIComponent(revision),
  ).replace(/\/+$/, "");
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new FetchError(
      `cannot create the model directory ${dir}: ${(err as Error).message}; set MODEL_CACHE ` +
        `to a writable directory`,
    );
  }
  const lock: ModelLock | null = readModelLock(dir);
  if (lock && lock.revision !== revision) {
    throw new FetchError(
      `${dir} was fetched from revision ${lock.revision} (model.lock.json), not ${revision}: ` +
        `fetch into another MODEL_CACHE, or delete the directory to replace the model`,
    );
  }
  const locked = (name: string): LockedFile | undefined => lock?.files[name];
  const changedUpstream = (name: string, detail: string) =>
    new FetchError(
      `${manifest.name}/${name} changed upstream since model.lock.json was written (${detail}; ` +
        `revision ${revision}). The model in ${dir} is unchanged; to take the new file, delete ` +
        `${dir}/model.lock.json and fetch again`,
    );
  const record = readRecord(dir);
  const out: FetchedFile[] = [];
  for (const file of filesFor(manifest, opts.precision)) {
    const dest = `${dir}/${file.name}`;
    const url = `${base}/${encodeURIComponent(file.name)}`;
    const size = existingSize(dest);
    const want = locked(file.name);
    if (size !== null && (file.size === undefined || size === file.size)) {
      if (want) {
        if (size !== want.bytes) {
          throw new FetchError(
            `${dest} has ${size} bytes but model.lock.json records ${want.bytes}: the local file ` +
              `changed; delete it and fetch again`,
          );
        }
        // The upstream file as the hub describes it now, against what was locked.
        const remote = await probeFile(url, {
          fetchImpl: opts.download?.fetchImpl,
          timeoutMs: opts.download?.stallTimeoutMs,
        });
        if (remote.sha256 && remote.sha256 !== want.sha256) {
          throw changedUpstream(file.name, `SHA-256 ${remote.sha256}, locked ${want.sha256}`);
        }
        if (remote.size !== undefined && remote.size !== want.bytes) {
          throw changedUpstream(file.name, `${remote.size} bytes, locked ${want.bytes}`);
        }
      }
      const known = record[file.name];
      const entry: FetchedFile = known && known.bytes === size
        ? { name: file.name, ...known, status: "present" }
        : {
          name: file.name,
          bytes: size,
          sha256: want?.sha256 ?? null,
          verifiedBy: want ? "lock" : "unchecked-existing",
          status: "present",
        };
      log(`${file.name}: already present (${size} bytes)`);
      out.push(entry);
      continue;
    }
    log(`${file.name}: downloading ${url}`);
    let result;
    const expectedSha256 = file.sha256 ?? want?.sha256;
    try {
      result = await downloadFile(url, dest, {
        ...opts.download,
        expectedSha256,
        expectedSize: file.size ?? want?.bytes,
      });
    } catch (err) {
      if (err instanceof FetchError) {
        if (want && !file.sha256 && /SHA-256 mismatch|expected \d+ bytes, got/.test(err.message)) {
          throw changedUpstream(file.name, err.message);
        }
        throw new FetchError(`${manifest.name}/${file.name}: ${err.message}`);
      }
      throw err;
    }
    const verifiedBy = file.sha256 ? "manifest" : want ? "lock" : result.verifiedBy;
    const entry: FetchedFile = {
      name: file.name,
      bytes: result.bytes,
      sha256: result.sha256,
      verifiedBy,
      status: result.resumedFrom > 0 ? "resumed" : "downloaded",
    };
    log(
      `${file.name}: ${entry.status}, ${result.bytes} bytes, sha256 ${result.sha256} ` +
        (verifiedBy === "none"
          ? "(UNVERIFIED: no digest pinned or announced)"
          : `(verified against the ${verifiedBy})`),
    );
    record[file.name] = { bytes: entry.bytes, sha256: entry.sha256, verifiedBy: entry.verifiedBy };
    writeRecord(dir, record);
    out.push(entry);
  }
  // Every file in place is locked at its first fetch; later fetches and starts compare to it.
  const next: ModelLock = { model: manifest.name, revision, files: { ...(lock?.files ?? {}) } };
  let lockWritten = false;
  for (const f of out) {
    if (next.files[f.name]) continue;
    const sha256 = f.sha256 ?? await sha256OfFile(`${dir}/${f.name}`);
    next.files[f.name] = { bytes: f.bytes, sha256 };
    lockWritten = true;
  }
  if (lockWritten) {
    writeModelLock(dir, next);
    log(
      `model.lock.json: ${Object.keys(next.files).length} file(s) locked at revision ${revision}`,
    );
  }
  return { dir, files: out, revision, lockWritten };
}
