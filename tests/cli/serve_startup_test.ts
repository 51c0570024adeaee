/**
 * `serve` that cannot start exits with its message and a code, never a signal. A failed model
 * load used to end in SIGSEGV/SIGABRT (139/134) in most runs after the right message: the
 * inference worker's teardown unloaded ONNX Runtime while exit() ran its destructors (see
 * ffi/pin_library.ts). The crash was a race, so the model failures run several times.
 */
import assert from "node:assert/strict";
import { TINY_MODEL } from "../engine/fixtures.ts";
import { runServe } from "../server/serve_process.ts";

const RUNS = 5;

async function assertFailsCleanly(
  what: string,
  env: Record<string, string>,
  message: RegExp,
  opts: { runs?: number; args?: string[]; code?: number } = {},
): Promise<void> {
  for (let run = 1; run <= (opts.runs ?? 1); run++) {
    const r = await runServe(env, opts.args);
    const label = `${what}, run ${run}: ${r.stderr}`;
    assert.equal(r.signal, null, `no signal: ${label}`);
    assert.equal(r.code, opts.code ?? 1, label);
    assert.match(r.stderr, message, label);
    assert.doesNotMatch(r.stderr, /listening on/, label);
  }
}

Deno.test("serve with DEVICE=cuda on the CPU build of ONNX Runtime exits 1 with the reason, never a signal", async () => {
  await assertFailsCleanly(
    "DEVICE=cuda",
    { DEVICE: "cuda" },
    /parakeet-server serve: CUDA is not usable: .*libonnxruntime_providers_shared\.so/,
    { runs: RUNS },
  );
});

Deno.test("serve with a corrupt encoder-model.onnx exits 1 naming the file, never a signal", async () => {
  const dir = await Deno.makeTempDir({ prefix: "corrupt-model-" });
  try {
    for (const entry of Deno.readDirSync(TINY_MODEL)) {
      await Deno.copyFile(`${TINY_MODEL}/${entry.name}`, `${dir}/${entry.name}`);
    }
    // Truncated: a valid start, then nothing, as an interrupted download leaves it.
    const encoder = await Deno.readFile(`${TINY_MODEL}/encoder-model.onnx`);
    await Deno.writeFile(`${dir}/encoder-model.onnx`, encoder.subarray(0, 3000));
    await assertFailsCleanly(
      "corrupt encoder",
      { MODEL: dir },
      /parakeet-server serve: cannot load .*encoder-model\.onnx: .*INVALID_PROTOBUF/,
      { runs: RUNS },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve with a missing model directory exits 1 naming it", async () => {
  await assertFailsCleanly(
    "missing model",
    { MODEL: "/nonexistent/model" },
    /parakeet-server serve: model directory \/nonexistent\/model does not exist/,
  );
});

Deno.test("serve on a port already in use exits 1 naming the address", async () => {
  using taken = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (taken.addr as Deno.NetAddr).port;
  await assertFailsCleanly(
    "port in use",
    {},
    new RegExp(`parakeet-server serve: cannot listen on 127\\.0\\.0\\.1:${port}: .*in use`),
    { args: ["--port", String(port)] },
  );
});

Deno.test("serve with an unreadable token file exits 2 (a bad knob value) before loading the model", async () => {
  await assertFailsCleanly(
    "bad token file",
    { AUTH_TOKEN_FILE: "/nonexistent/tokens" },
    /AUTH_TOKEN_FILE: cannot read "\/nonexistent\/tokens"/,
    { code: 2 },
  );
});
