/**
 * The systemd unit as install.sh writes it passes `systemd-analyze verify` with no complaint
 * (systemd only warns about a bad directive, so any output fails the test), keeps the hardening
 * options that would break FFI or CUDA out, and its environment file holds valid knobs.
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { hasTool, ROOT, run } from "./ops_helpers.ts";

const HAVE = await hasTool("systemd-analyze");
if (!HAVE) {
  console.warn(
    "SKIPPED systemd unit verification: systemd-analyze is not installed " +
      "(apt-get install systemd; .ci/run installs it)",
  );
}

function parseEnvFile(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  for (const line of text.split("\n")) {
    const m = /^([A-Z_][A-Z0-9_]*)=(.*)$/.exec(line.trim());
    if (m) env[m[1]] = m[2];
  }
  return env;
}

Deno.test({
  name: "install.sh --root writes a unit that systemd-analyze verify accepts without a warning",
  ignore: !HAVE,
  fn: async () => {
    const root = await Deno.makeTempDir();
    try {
      const inst = await run("bash", [
        `${ROOT}/deploy/systemd/install.sh`,
        "--root",
        root,
        "--user",
        "root",
      ]);
      assertEquals(inst.code, 0, inst.stderr);
      const unit = `${root}/etc/systemd/system/parakeet-server.service`;
      const text = Deno.readTextFileSync(unit);
      assertStringIncludes(text, `ExecStart=${ROOT}/parakeet-server serve`);
      assert(!text.includes("@"), "every placeholder is replaced");
      const v = await run("systemd-analyze", ["verify", unit]);
      assertEquals(v.code, 0, v.stderr);
      assertEquals(v.stderr.trim(), "", "systemd-analyze had something to say");

      // The check is real: a broken directive and a missing program are both reported.
      Deno.writeTextFileSync(unit, text.replace("Restart=on-failure", "Restart=sometimes"));
      const bad = await run("systemd-analyze", ["verify", unit]);
      assertStringIncludes(bad.stderr, "sometimes");
      Deno.writeTextFileSync(unit, text.replaceAll(ROOT, "/nonexistent"));
      const missing = await run("systemd-analyze", ["verify", unit]);
      assert(missing.code !== 0, "a missing ExecStart program fails verification");
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
});

Deno.test("the unit drains on stop and avoids hardening that breaks FFI or CUDA", () => {
  const text = Deno.readTextFileSync(`${ROOT}/deploy/systemd/parakeet-server.service`);
  const active = text.split("\n").filter((l) => !l.startsWith("#"));
  for (const forbidden of ["MemoryDenyWriteExecute", "PrivateDevices", "SystemCallFilter"]) {
    assert(!active.some((l) => l.startsWith(forbidden)), `${forbidden} would break V8/FFI/CUDA`);
  }
  for (
    const want of ["KillSignal=SIGTERM", "TimeoutStopSec=45", "Restart=on-failure", "User=@USER@"]
  ) {
    assert(active.includes(want), want);
  }
});

Deno.test("the environment file's knobs pass the server's validation", () => {
  const env = parseEnvFile(
    Deno.readTextFileSync(`${ROOT}/deploy/systemd/parakeet-server.env`),
  );
  assertEquals(env.STEP_MS, "240");
  const config = loadServerConfig(env);
  assertEquals([config.stepMs, config.rightContextMs, config.maxInflightSteps], [240, 160, 1]);
});

Deno.test("install.sh refuses a bad user name and a directory that is not a checkout", async () => {
  const root = await Deno.makeTempDir();
  try {
    const u = await run("bash", [
      `${ROOT}/deploy/systemd/install.sh`,
      "--root",
      root,
      "--user",
      "a b",
    ]);
    assertEquals(u.code, 2);
    assertStringIncludes(u.stderr, "--user must be a plain user name, got 'a b'");
    const d = await run("bash", [
      `${ROOT}/deploy/systemd/install.sh`,
      "--root",
      root,
      "--app-dir",
      root,
    ]);
    assertEquals(d.code, 2);
    assertStringIncludes(d.stderr, "--app-dir must be a parakeet-server checkout");
    assertEquals([...Deno.readDirSync(root)], [], "nothing written");
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});
