import { downloadFile, type DownloadOptions, FetchError } from "./download.ts";
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
  verifiedBy: "manifest" | "server" | "none" | "unchecked-existing";
  status: "downloaded" | "resumed" | "present";
}

export interface FetchModelOptions {
  cacheDir: string;
  baseUrl?: string;
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

export async function fetchModel(
  manifest: ModelManifest,
  opts: FetchModelOptions,
): Promise<{ dir: string; files: FetchedFile[] }> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const dir = `${opts.cacheDir}/${manifest.name}`;
  const base = (opts.baseUrl ?? manifest.baseUrl).replace(/\/+$/, "");
  try {
    Deno.mkdirSync(dir, { recursive: true });
  } catch (err) {
    throw new FetchError(
      `cannot create the model directory ${dir}: ${(err as Error).message}; set MODEL_CACHE ` +
        `to a writable directory`,
    );
  }
  const record = readRecord(dir);
  const out: FetchedFile[] = [];
  for (const file of filesFor(manifest, opts.precision)) {
    const dest = `${dir}/${file.name}`;
    const size = existingSize(dest);
    if (size !== null && (file.size === undefined || size === file.size)) {
      const known = record[file.name];
      const entry: FetchedFile = known && known.bytes === size
        ? { name: file.name, ...known, status: "present" }
        : {
          name: file.name,
          bytes: size,
          sha256: null,
          verifiedBy: "unchecked-existing",
          status: "present",
        };
      log(`${file.name}: already present (${size} bytes)`);
      out.push(entry);
      continue;
    }
    const url = `${base}/${encodeURIComponent(file.name)}`;
    log(`${file.name}: downloading ${url}`);
    let result;
    try {
      result = await downloadFile(url, dest, {
        ...opts.download,
        expectedSha256: file.sha256,
        expectedSize: file.size,
      });
    } catch (err) {
      if (err instanceof FetchError) {
        throw new FetchError(`${manifest.name}/${file.name}: ${err.message}`);
      }
      throw err;
    }
    const entry: FetchedFile = {
      name: file.name,
      bytes: result.bytes,
      sha256: result.sha256,
      verifiedBy: result.verifiedBy,
      status: result.resumedFrom > 0 ? "resumed" : "downloaded",
    };
    log(
      `${file.name}: ${entry.status}, ${result.bytes} bytes, sha256 ${result.sha256} ` +
        (result.verifiedBy === "none"
          ? "(UNVERIFIED: no digest pinned or announced)"
          : `(verified against the ${result.verifiedBy})`),
    );
    record[file.name] = { bytes: entry.bytes, sha256: entry.sha256, verifiedBy: entry.verifiedBy };
    writeRecord(dir, record);
    out.push(entry);
  }
  return { dir, files: out };
}
