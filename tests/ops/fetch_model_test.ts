/**
 * fetch-model against a local hub serving fixture files: complete downloads verified by the
 * announced digest, resume after a dropped connection (HTTP Range), a server that ignores Range,
 * a bad checksum, a server error, a full disk (writes into /dev/full), and the CLI's exit codes
 * and output. The final file name never holds an incomplete or unverified file.
 */
import {
  assert,
  assertEquals,
  assertMatch,
  assertRejects,
  assertStringIncludes,
} from "./asserts.ts";
import { downloadFile, FetchError } from "../../src/fetch/download.ts";
import { fetchModel } from "../../src/fetch/model_fetch.ts";
import type { ModelManifest } from "../../src/fetch/manifest.ts";
import { type Progress } from "../../src/fetch/progress.ts";
import { sha256Hex, startFixtureHub } from "./fixture_hub.ts";
import { ROOT, run } from "./ops_helpers.ts";

const quiet = (): Progress => ({ update() {}, finish() {} });

function randomBytes(n: number, seed: number): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[i] = x & 0xff;
  }
  return out;
}

const BIG = randomBytes(1_000_003, 7);
const SMALL = new TextEncoder().encode('{"model_type":"nemo-conformer-tdt"}\n');

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

Deno.test("a file is downloaded whole and verified against the digest the hub announces", async () => {
  await using hub = startFixtureHub({ "big.bin": BIG });
  const dir = await Deno.makeTempDir();
  try {
    const r = await downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet });
    assertEquals(r.bytes, BIG.length);
    assertEquals(r.sha256, sha256Hex(BIG));
    assertEquals(r.verifiedBy, "server");
    assertEquals(sha256Hex(Deno.readFileSync(`${dir}/big.bin`)), sha256Hex(BIG));
    assert(!exists(`${dir}/big.bin.part`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a dropped connection keeps the .part; the rerun resumes it with a Range request", async () => {
  await using hub = startFixtureHub({ "big.bin": BIG }, {
    dropAfter: { "big.bin": { bytes: 400_000, times: 1 } },
  });
  const dir = await Deno.makeTempDir();
  try {
    const err = await assertRejects(
      () => downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet }),
      FetchError,
    );
    assertStringIncludes(err.message, "rerun to resume");
    assert(!exists(`${dir}/big.bin`), "no file under the final name after an interruption");
    const kept = Deno.statSync(`${dir}/big.bin.part`).size;
    assert(kept > 0 && kept <= 400_000, `kept ${kept} bytes`);
    const r = await downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet });
    assertEquals(r.resumedFrom, kept);
    assertEquals(hub.ranges["big.bin"], ["", `bytes=${kept}-`]);
    assertEquals(r.sha256, sha256Hex(BIG), "the resumed file hashes as the original");
    assertEquals(sha256Hex(Deno.readFileSync(`${dir}/big.bin`)), sha256Hex(BIG));
    assert(!exists(`${dir}/big.bin.part`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server that ignores Range (200) restarts the .part from zero", async () => {
  await using hub = startFixtureHub({ "big.bin": BIG }, { ignoreRange: true });
  const dir = await Deno.makeTempDir();
  try {
    Deno.writeFileSync(`${dir}/big.bin.part`, BIG.subarray(0, 1000));
    const r = await downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet });
    assertEquals(r.resumedFrom, 0);
    assertEquals(sha256Hex(Deno.readFileSync(`${dir}/big.bin`)), sha256Hex(BIG));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a wrong checksum deletes the download and names both digests", async () => {
  const wrong = "0".repeat(64);
  const dir = await Deno.makeTempDir();
  try {
    {
      await using hub = startFixtureHub({ "big.bin": BIG }, { wrongDigest: { "big.bin": wrong } });
      const err = await assertRejects(
        () => downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet }),
        FetchError,
      );
      assertStringIncludes(err.message, `expected ${wrong} (announced by the server)`);
      assertStringIncludes(err.message, `got ${sha256Hex(BIG)}`);
    }
    {
      // A digest pinned in the manifest wins over the server's (correct) one.
      await using hub = startFixtureHub({ "big.bin": BIG });
      const err = await assertRejects(
        () =>
          downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, {
            progress: quiet,
            expectedSha256: wrong,
          }),
        FetchError,
      );
      assertStringIncludes(err.message, "pinned in the manifest");
    }
    assert(!exists(`${dir}/big.bin`) && !exists(`${dir}/big.bin.part`), "nothing left behind");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a server error is reported with its status; nothing is written", async () => {
  await using hub = startFixtureHub({ "big.bin": BIG }, { status: { "big.bin": 500 } });
  const dir = await Deno.makeTempDir();
  try {
    const err = await assertRejects(
      () => downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet }),
      FetchError,
    );
    assertMatch(err.message, /HTTP 500 .*expected 200 or 206/);
    assertEquals([...Deno.readDirSync(dir)].length, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a full disk (writes to /dev/full) is reported as such and no file is completed", async () => {
  await using hub = startFixtureHub({ "big.bin": BIG });
  const dir = await Deno.makeTempDir();
  try {
    // The kernel's /dev/full fails every write with ENOSPC: a real disk-full error.
    Deno.symlinkSync("/dev/full", `${dir}/big.bin.part`);
    const err = await assertRejects(
      () => downloadFile(`${hub.baseUrl}/big.bin`, `${dir}/big.bin`, { progress: quiet }),
      FetchError,
    );
    assertMatch(err.message, /the disk is full after 0 bytes of 1000003; free space .* rerun/);
    assert(!exists(`${dir}/big.bin`));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an unreachable host is named in the error", async () => {
  const dir = await Deno.makeTempDir();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close(); // nothing listens there now
  try {
    const err = await assertRejects(
      () => downloadFile(`http://127.0.0.1:${port}/x`, `${dir}/x`, { progress: quiet }),
      FetchError,
    );
    assertStringIncludes(err.message, `GET http://127.0.0.1:${port}/x`);
    assertStringIncludes(err.message, "is the host reachable?");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("fetchModel takes only the files of the precision asked, and keeps finished ones", async () => {
  const files = { "config.json": SMALL, "a.onnx": BIG, "a.int8.onnx": BIG.subarray(0, 5000) };
  const manifest: ModelManifest = {
    name: "m",
    baseUrl: "unused",
    files: [
      { name: "config.json", precision: "both", sha256: sha256Hex(SMALL) },
      { name: "a.onnx", precision: "fp32", size: BIG.length },
      { name: "a.int8.onnx", precision: "int8" },
    ],
  };
  await using hub = startFixtureHub(files, { noDigest: true });
  const cache = await Deno.makeTempDir();
  const lines: string[] = [];
  try {
    const first = await fetchModel(manifest, {
      cacheDir: cache,
      baseUrl: hub.baseUrl,
      precision: "int8",
      log: (l) => lines.push(l),
      download: { progress: quiet },
    });
    assertEquals(first.dir, `${cache}/m`);
    assertEquals(first.files.map((f) => [f.name, f.verifiedBy]), [
      ["config.json", "manifest"],
      ["a.int8.onnx", "none"],
    ]);
    assert(lines.some((l) => l.includes("a.int8.onnx") && l.includes("UNVERIFIED")));
    const second = await fetchModel(manifest, {
      cacheDir: cache,
      baseUrl: hub.baseUrl,
      precision: "all",
      log: () => {},
      download: { progress: quiet },
    });
    assertEquals(second.files.map((f) => [f.name, f.status]), [
      ["config.json", "present"],
      ["a.onnx", "downloaded"],
      ["a.int8.onnx", "present"],
    ]);
    assertEquals(hub.ranges["config.json"].length, 1, "a finished file is not fetched again");
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test("parakeet-server fetch-model: the model directory on stdout, exit 1 on failure, 2 on misuse", async () => {
  const names = [
    "config.json",
    "vocab.txt",
    "encoder-model.onnx",
    "encoder-model.onnx.data",
    "decoder_joint-model.onnx",
    "encoder-model.int8.onnx",
    "decoder_joint-model.int8.onnx",
  ];
  const files: Record<string, Uint8Array> = {};
  names.forEach((n, i) => files[n] = randomBytes(1000 + i * 7919, i + 1));
  await using hub = startFixtureHub(files, { status: {} });
  const cache = await Deno.makeTempDir();
  const env = { MODEL_CACHE: cache, MODEL_BASE_URL: hub.baseUrl, NO_COLOR: "1" };
  try {
    hub.faults.status = { "encoder-model.onnx.data": 503 };
    const bad = await run(`${ROOT}/parakeet-server`, ["fetch-model"], { env });
    assertEquals(bad.code, 1, bad.stderr);
    assertMatch(bad.stderr, /encoder-model\.onnx\.data: GET .* HTTP 503/);
    assertEquals(bad.stdout, "");
    assert(!exists(`${cache}/parakeet-tdt-0.6b-v3/encoder-model.onnx.data`));

    hub.faults.status = {};
    const ok = await run(`${ROOT}/parakeet-server`, ["fetch-model", "parakeet-tdt-0.6b-v3"], {
      env,
    });
    assertEquals(ok.code, 0, ok.stderr);
    assertEquals(ok.stdout.trim().split("\n").at(-1), `${cache}/parakeet-tdt-0.6b-v3`);
    for (const n of names) {
      assertEquals(
        sha256Hex(Deno.readFileSync(`${cache}/parakeet-tdt-0.6b-v3/${n}`)),
        sha256Hex(files[n]),
      );
    }
    assertStringIncludes(ok.stderr, "verified against the server");

    const usage = await run(`${ROOT}/parakeet-server`, ["fetch-model", "no-such-model"], { env });
    assertEquals(usage.code, 2);
    assertStringIncludes(
      usage.stderr,
      'unknown model "no-such-model"; fetch-model knows parakeet-tdt-0.6b-v3',
    );
    const prec = await run(`${ROOT}/parakeet-server`, ["fetch-model", "--precision", "fp16"], {
      env,
    });
    assertEquals(prec.code, 2);
    assertStringIncludes(prec.stderr, '--precision must be fp32, int8 or all, got "fp16"');
  } finally {
    await Deno.remove(cache, { recursive: true });
  }
});
