import assert from "node:assert/strict";
import { join } from "node:path";
import { FetchError } from "../../src/fetch/download.ts";
import type { ModelManifest } from "../../src/fetch/manifest.ts";
import { chooseRevision, fetchModel } from "../../src/fetch/model_fetch.ts";
import { LOCK_FILE, readModelLock, verifyModelLock } from "../../src/model/model_lock.ts";
import { ROOT, TINY_MODEL } from "../engine/fixtures.ts";
import { startTestServer } from "../server/harness.ts";
import { sha256Hex, startFixtureHub } from "./fixture_hub.ts";

const quiet = () => ({ update() {}, finish() {} });
const enc = (s: string) => new TextEncoder().encode(s);

function hubFiles(): Record<string, Uint8Array> {
  return {
    "config.json": enc('{"model_type": "nemo-conformer-tdt"}\n'),
    "vocab.txt": enc("▁a 0\n<blk> 1\n"),
    "model.onnx": new Uint8Array(70_000).map((_, i) => (i * 31) & 255),
  };
}

const MANIFEST: ModelManifest = {
  name: "m",
  baseUrl: "unused/{revision}",
  files: [
    { name: "config.json", precision: "both" },
    { name: "vocab.txt", precision: "both" },
    { name: "model.onnx", precision: "fp32" },
  ],
};

Deno.test("chooseRevision: a commit is pinned, a branch is warned about, junk is refused", () => {
  const commit = "0123456789abcdef0123456789abcdef01234567";
  assert.deepEqual(chooseRevision(MANIFEST, commit), { revision: commit, warning: null });
  assert.equal(chooseRevision({ ...MANIFEST, revision: commit }, undefined).revision, commit);
  const main = chooseRevision(MANIFEST, undefined);
  assert.equal(main.revision, "main");
  assert.match(main.warning!, /not a commit.*MODEL_REVISION/);
  assert.throws(() => chooseRevision(MANIFEST, "../../etc"), FetchError);
  assert.throws(() => chooseRevision(MANIFEST, "a b"), /not a commit, tag or branch/);
});

Deno.test("the first fetch locks every file; a later fetch refuses a file changed upstream", async () => {
  const files = hubFiles();
  await using hub = startFixtureHub(files);
  const cache = await Deno.makeTempDir();
  const urls: string[] = [];
  // The revision goes into the URL; the hub itself serves one revision.
  const fetchImpl: typeof fetch = (input, init) => {
    const url = String(input);
    urls.push(url);
    return fetch(url.replace("/rev-1/", "/"), init);
  };
  const opts = {
    cacheDir: cache,
    baseUrl: `${hub.baseUrl}/{revision}`,
    precision: "all" as const,
    revision: "rev-1",
    log: () => {},
    download: { progress: quiet, fetchImpl },
  };
  try {
    const first = await fetchModel(MANIFEST, opts);
    assert.ok(first.lockWritten);
    assert.ok(urls.some((u) => u.endsWith("/resolve/rev-1/vocab.txt")), urls.join(" "));
    const lock = readModelLock(first.dir)!;
    assert.equal(lock.revision, "rev-1");
    for (const [name, bytes] of Object.entries(files)) {
      assert.deepEqual(lock.files[name], { bytes: bytes.length, sha256: sha256Hex(bytes) }, name);
    }
    // Unchanged upstream: a second fetch keeps everything and the lock.
    const second = await fetchModel(MANIFEST, opts);
    assert.equal(second.lockWritten, false);
    assert.ok(second.files.every((f) => f.status === "present" && f.verifiedBy !== "none"));

    // Upstream replaces vocab.txt: the hub now announces another digest.
    files["vocab.txt"] = enc("▁b 0\n<blk> 1\n");
    await assert.rejects(
      fetchModel(MANIFEST, opts),
      (err: Error) =>
        err instanceof FetchError && /vocab\.txt changed upstream/.test(err.message) &&
        err.message.includes(LOCK_FILE),
    );
    assert.deepEqual(Deno.readTextFileSync(`${first.dir}/vocab.txt`), "▁a 0\n<blk> 1\n");

    // A file missing locally is downloaded again and must match the lock, not just the hub.
    Deno.removeSync(`${first.dir}/vocab.txt`);
    await assert.rejects(fetchModel(MANIFEST, opts), /vocab\.txt changed upstream/);
    assert.throws(() => Deno.statSync(`${first.dir}/vocab.txt`), Deno.errors.NotFound);

    // Another revision than the lock's is refused outright.
    await assert.rejects(
      fetchModel(MANIFEST, { ...opts, revision: "rev-2" }),
      /fetched from revision rev-1.*not rev-2/,
    );
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

/** A copy of the tiny model with a lock of its files as they are. */
async function lockedTinyModel(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "locked-model-" });
  const files: Record<string, { bytes: number; sha256: string }> = {};
  for (const e of Deno.readDirSync(TINY_MODEL)) {
    if (!e.isFile) continue;
    const bytes = Deno.readFileSync(join(TINY_MODEL, e.name));
    Deno.writeFileSync(join(dir, e.name), bytes);
    files[e.name] = { bytes: bytes.length, sha256: sha256Hex(bytes) };
  }
  Deno.writeTextFileSync(
    join(dir, LOCK_FILE),
    JSON.stringify({ model: "tiny", revision: "rev-1", files }),
  );
  return dir;
}

Deno.test("a start refuses a model file that changed after it was fetched", async () => {
  const dir = await lockedTinyModel();
  try {
    const ok = await verifyModelLock(dir);
    assert.ok(ok.hashed.includes("vocab.txt") && ok.hashed.includes("encoder-model.onnx"));
    // Same size, other bytes: caught by the digest.
    const vocab = Deno.readTextFileSync(join(dir, "vocab.txt"));
    Deno.writeTextFileSync(join(dir, "vocab.txt"), vocab.replace("▁t 1", "▁x 1"));
    await assert.rejects(verifyModelLock(dir), /vocab\.txt no longer matches model\.lock\.json/);
    await assert.rejects(
      startTestServer({ MODEL: dir }),
      /vocab\.txt no longer matches model\.lock\.json \(its SHA-256 differs/,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}main.ts`,
        "transcribe",
        "--model",
        dir,
        "--device",
        "cpu",
        "x.wav",
      ],
      stderr: "piped",
      stdout: "null",
    }).output();
    assert.equal(out.code, 1);
    assert.match(new TextDecoder().decode(out.stderr), /vocab\.txt no longer matches/);
    // Another size is caught before any hashing.
    Deno.writeTextFileSync(join(dir, "vocab.txt"), vocab + "extra 99\n");
    await assert.rejects(verifyModelLock(dir), /bytes, locked/);
    // Without a lock (a model built or copied by hand) nothing is checked.
    Deno.removeSync(join(dir, LOCK_FILE));
    assert.equal((await verifyModelLock(dir)).lock, null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
