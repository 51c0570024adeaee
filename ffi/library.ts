/**
 * Finds and opens libonnxruntime.so.1, in one place. Only `OrtGetApiBase` is dlopen'ed; every
 * other entry comes from the OrtApi struct (see api_table.ts).
 *
 * Search order: an explicit path (`libPath`, else the ORT_LIB environment variable — a file, or
 * a directory holding libonnxruntime.so.1); else `.tools/lib/` of this repository; else beside
 * the executable and in its `lib/` (the compiled binary ships the .so files as real files);
 * else the system loader by plain name. An explicit path is the only one tried: pointing at one
 * build and silently getting another (CPU instead of GPU) would be worse than an error.
 */
import { API_VERSION, bindOrtApi, MIN_ORT_RELEASE, type OrtApi } from "./api_table.ts";
import { pinLoadedLibrary } from "./pin_library.ts";

export const LIBRARY_NAME = "libonnxruntime.so.1";
const SETUP_HINT = "bash scripts/setup.sh";

const BASE_SYMBOLS = {
  // const OrtApiBase* OrtGetApiBase(void)
  OrtGetApiBase: { parameters: [], result: "pointer" },
} as const;

/** An opened ONNX Runtime: its bound API table, version string and the file it came from. */
export interface OrtLibrary {
  readonly path: string;
  readonly version: string;
  readonly api: OrtApi;
}

export interface LibraryCandidate {
  /** An absolute file path, or the bare name handed to the system loader. */
  path: string;
  origin: "libPath" | "ORT_LIB" | "repository" | "executable" | "system";
}

function dirname(path: string): string {
  const i = path.lastIndexOf("/");
  return i <= 0 ? "/" : path.slice(0, i);
}

function isDirectory(path: string): boolean {
  try {
    return Deno.statSync(path).isDirectory;
  } catch {
    return false;
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** The paths tried, in order. Pure apart from telling a directory from a file. */
export function libraryCandidates(
  opts: { libPath?: string; envLib?: string; moduleUrl?: string; execPath?: string } = {},
): LibraryCandidate[] {
  const explicit = opts.libPath ?? opts.envLib;
  if (explicit !== undefined && explicit !== "") {
    const origin = opts.libPath !== undefined ? "libPath" : "ORT_LIB";
    const path = isDirectory(explicit)
      ? `${explicit.replace(/\/+$/, "")}/${LIBRARY_NAME}`
      : explicit;
    return [{ path, origin }];
  }
  const out: LibraryCandidate[] = [];
  const moduleUrl = opts.moduleUrl ?? import.meta.url;
  if (moduleUrl.startsWith("file:")) {
    const root = decodeURIComponent(new URL("../", moduleUrl).pathname).replace(/\/$/, "");
    out.push({ path: `${root}/.tools/lib/${LIBRARY_NAME}`, origin: "repository" });
  }
  const exeDir = dirname(opts.execPath ?? Deno.execPath());
  out.push({ path: `${exeDir}/${LIBRARY_NAME}`, origin: "executable" });
  out.push({ path: `${exeDir}/lib/${LIBRARY_NAME}`, origin: "executable" });
  out.push({ path: LIBRARY_NAME, origin: "system" });
  return out;
}

/** Library not found or not usable; the message lists every path tried. */
export class OrtLibraryError extends Error {
  override name = "OrtLibraryError";
  readonly tried: string[];
  constructor(message: string, tried: string[]) {
    super(message);
    this.tried = tried;
  }
}

// One dlopen per file per isolate: every OrtRuntime of that file shares it (and ORT itself is
// one instance per process, whichever isolate opened it).
const opened = new Map<string, OrtLibrary>();

/** Opens the first candidate that loads, binds the OrtApi table and checks the version. */
export function openOrtLibrary(opts: { libPath?: string } = {}): OrtLibrary {
  const candidates = libraryCandidates({ libPath: opts.libPath, envLib: envLib() });
  const tried: string[] = [];
  for (const candidate of candidates) {
    const cached = opened.get(candidate.path);
    if (cached) return cached;
    const bare = candidate.origin === "system";
    if (!bare && !exists(candidate.path)) {
      tried.push(`${candidate.path} (${candidate.origin}: no such file)`);
      continue;
    }
    let lib: Deno.DynamicLibrary<typeof BASE_SYMBOLS>;
    try {
      lib = Deno.dlopen(candidate.path, BASE_SYMBOLS);
    } catch (e) {
      tried.push(`${candidate.path} (${candidate.origin}: ${firstLine(e)})`);
      if (bare) continue;
      // A file that exists but does not load is an answer, not a reason to look elsewhere.
      throw new OrtLibraryError(
        `Cannot load ONNX Runtime from ${candidate.path}: ${firstLine(e)}`,
        tried,
      );
    }
    // ONNX Runtime is one instance per process and must never be unloaded with the isolate that
    // opened it (see pin_library.ts).
    pinLoadedLibrary(candidate.path);
    const loaded = bindLibrary(candidate.path, lib);
    opened.set(candidate.path, loaded);
    return loaded;
  }
  throw new OrtLibraryError(
    `Cannot find the ONNX Runtime library (${LIBRARY_NAME}). Tried:\n` +
      tried.map((t) => `  - ${t}`).join("\n") +
      `\nSet ORT_LIB to the library file or its directory, or run \`${SETUP_HINT}\` ` +
      `to install it under .tools/lib/.`,
    tried,
  );
}

function bindLibrary(path: string, lib: Deno.DynamicLibrary<typeof BASE_SYMBOLS>): OrtLibrary {
  const base = lib.symbols.OrtGetApiBase();
  if (base === null) throw new OrtLibraryError(`OrtGetApiBase returned NULL in ${path}`, [path]);
  const view = new Deno.UnsafePointerView(base);
  // struct OrtApiBase { const OrtApi* (*GetApi)(uint32_t version);
  //                     const char* (*GetVersionString)(void); }
  const getApi = new Deno.UnsafeFnPointer(view.getPointer(0)!, {
    parameters: ["u32"],
    result: "pointer",
  });
  const getVersion = new Deno.UnsafeFnPointer(view.getPointer(8)!, {
    parameters: [],
    result: "pointer",
  });
  const versionPtr = getVersion.call();
  const version = versionPtr === null ? "unknown" : Deno.UnsafePointerView.getCString(versionPtr);
  const api = getApi.call(API_VERSION);
  if (api === null) {
    throw new OrtLibraryError(
      `ONNX Runtime ${version} at ${path} is too old: this program needs ONNX Runtime ` +
        `${MIN_ORT_RELEASE} or newer (C API version ${API_VERSION}). Run \`${SETUP_HINT}\` ` +
        `or point ORT_LIB at a newer library.`,
      [path],
    );
  }
  return { path, version, api: bindOrtApi(api) };
}

function envLib(): string | undefined {
  try {
    return Deno.env.get("ORT_LIB");
  } catch {
    return undefined; // no --allow-env: behave as if unset
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split("\n")[0];
}
