import { parseArgs } from "node:util";
import { modelCacheDir } from "../fetch/cache_dir.ts";
import { FetchError } from "../fetch/download.ts";
import { DEFAULT_MODEL, MODELS } from "../fetch/manifest.ts";
import { fetchModel } from "../fetch/model_fetch.ts";
import { asUsageError, UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server fetch-model [NAME] [options]

Downloads a model's ONNX files (fp32 and int8 by default) into the model cache and prints the
model directory on the last line of stdout (use it as MODEL). Interrupted downloads resume;
every file is written as FILE.part and renamed only once complete and verified (SHA-256 pinned
in the manifest, else the one the hub announces; files with neither are reported UNVERIFIED).
The first fetch writes model.lock.json (revision, each file's size and SHA-256); a later fetch
refuses a file that changed upstream, and serve and transcribe refuse a file that changed on
disk.

NAME: ${Object.keys(MODELS).join(", ")} (default ${DEFAULT_MODEL})

Options:
  --precision P   fp32 | int8 | all (default all)
  --cache DIR     the model cache (env MODEL_CACHE; default $HF_HOME/parakeet-server,
                  HF_HOME defaulting to .cache/hf in the repository)
  --revision R    hub commit, tag or branch to fetch (env MODEL_REVISION; default the
                  manifest's pinned commit, else main with a warning)
  --base-url URL  where the files are (env MODEL_BASE_URL; default the model's hub repository;
                  {revision} in it is replaced by the revision)
  --timeout S     give up when the server is silent this many seconds (env FETCH_TIMEOUT_S;
                  default 60)
  -h, --help      this help

Exit status: 0 when every file is in place, 1 when one could not be fetched (the message names
it and what to do), 2 for a usage mistake.`;

export async function fetchModelCommand(args: string[]): Promise<number> {
  const parsed = asUsageError(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        precision: { type: "string", default: "all" },
        cache: { type: "string" },
        "base-url": { type: "string" },
        revision: { type: "string" },
        timeout: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  );
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length > 1) {
    throw new UsageError(`expected at most one model name, got ${positionals.length}`);
  }
  const name = positionals[0] ?? DEFAULT_MODEL;
  const manifest = MODELS[name];
  if (!manifest) {
    throw new UsageError(
      `unknown model "${name}"; fetch-model knows ${Object.keys(MODELS).join(", ")}`,
    );
  }
  const precision = values.precision;
  if (precision !== "fp32" && precision !== "int8" && precision !== "all") {
    throw new UsageError(`--precision must be fp32, int8 or all, got "${precision}"`);
  }
  const timeoutRaw = values.timeout ?? Deno.env.get("FETCH_TIMEOUT_S") ?? "60";
  const timeoutS = Number(timeoutRaw);
  if (!/^\d+$/.test(timeoutRaw) || timeoutS < 1 || timeoutS > 3600) {
    throw new UsageError(
      `--timeout / FETCH_TIMEOUT_S must be 1 to 3600 seconds, got "${timeoutRaw}"`,
    );
  }
  const env = Deno.env.toObject();
  const cacheDir = values.cache ?? modelCacheDir(env);
  const baseUrl = values["base-url"] ?? (env.MODEL_BASE_URL || undefined);
  try {
    const { dir, files } = await fetchModel(manifest, {
      cacheDir,
      baseUrl,
      revision: values.revision ?? (env.MODEL_REVISION || undefined),
      precision,
      download: { stallTimeoutMs: timeoutS * 1000 },
    });
    const unverified = files.filter((f) =>
      f.verifiedBy === "none" || f.verifiedBy === "unchecked-existing"
    );
    if (unverified.length > 0) {
      console.error(
        `WARNING: not verified by a SHA-256 (none pinned or announced): ${
          unverified.map((f) => f.name).join(", ")
        }`,
      );
    }
    console.error(`${name}: ${files.length} file(s) ready in ${dir}`);
    console.log(dir);
    return 0;
  } catch (err) {
    if (err instanceof FetchError) {
      console.error(`parakeet-server fetch-model: ${err.message}`);
      return 1;
    }
    throw err;
  }
}
