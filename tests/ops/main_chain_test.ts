/**
 * scripts/main.sh and scripts/stop.sh end to end on a fresh copy of the repository, on this CPU
 * machine with no model hub: the chain returns once the server listens, /status answers ok,
 * logs/latest.log tells what was done, a second main.sh refuses to start another server, and
 * stop.sh stops exactly that process and purges. The fallback rules: MODEL unset + hub
 * unreachable → the bundled model, loudly; an explicit MODEL never falls back; a fetchable
 * model is fetched and served.
 */
import { assert, assertEquals, assertMatch, assertStringIncludes } from "./asserts.ts";
import { startFixtureHub } from "./fixture_hub.ts";
import {
  alive,
  copyRepo,
  freePort,
  hasTool,
  installTools,
  killGroup,
  run,
  waitFor,
} from "./ops_helpers.ts";

function baseEnv(extra: Record<string, string>): Record<string, string> {
  // A clean environment: nothing of the test runner's MODEL, PORT, … leaks into the chain.
  return {
    PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin",
    HOME: Deno.env.get("HOME") ?? "/root",
    HOST: "127.0.0.1",
    DEVICE: "cpu",
    ...extra,
  };
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function readPid(dir: string): number {
  return Number(Deno.readTextFileSync(`${dir}/.run.pid`).trim());
}

/** Processes whose working directory is inside `dir` (what "nothing left running" means). */
function processesIn(dir: string): number[] {
  const out: number[] = [];
  for (const e of Deno.readDirSync("/proc")) {
    if (!/^\d+$/.test(e.name)) continue;
    try {
      const cwd = Deno.readLinkSync(`/proc/${e.name}/cwd`);
      if ((cwd === dir || cwd.startsWith(dir + "/")) && alive(Number(e.name))) {
        out.push(Number(e.name));
      }
    } catch { /* gone or not ours to read */ }
  }
  return out;
}

async function getText(url: string): Promise<string> {
  const r = await fetch(url);
  return await r.text();
}

Deno.test("main.sh → offline default on a CPU machine; rerun refuses; stop.sh stops and purges", async () => {
  const dir = await copyRepo();
  const port = freePort();
  const deadHub = `http://127.0.0.1:${freePort()}/resolve`; // nothing listens: no hub access
  let pid = 0;
  try {
    const env = baseEnv({ PORT: String(port), MODEL_BASE_URL: deadHub });
    const start = await run("bash", ["scripts/main.sh"], { cwd: dir, env, clearEnv: true });
    assertEquals(start.code, 0, start.stdout + start.stderr);
    assertStringIncludes(start.stdout, `ws://127.0.0.1:${port}/ws`);
    assertStringIncludes(start.stdout, "/status: ok");
    assertStringIncludes(start.stdout, "WARNING: serving the bundled demo model");
    pid = readPid(dir);
    assert(alive(pid), "the PID in .run.pid is the running server");

    assertEquals(await getText(`http://127.0.0.1:${port}/status`), "ok");
    const status = JSON.parse(await getText(`http://127.0.0.1:${port}/v1/status`));
    assertEquals(status.model.bundled, true);
    // /v1/status names the directory (no token, so no path); the log has where it is.
    assertEquals(status.model.dir, "demo");

    const log = Deno.readTextFileSync(`${dir}/logs/latest.log`);
    assertStringIncludes(log, `model ${dir}/models/demo (`);
    for (
      const want of [
        "== step 00_env_check ==",
        "no NVIDIA GPU (nvidia-smi not found): running on the CPU",
        "system packages: everything needed is present",
        "deno 2.9.6 already installed",
        "OFFLINE DEFAULT: MODEL is unset and parakeet-tdt-0.6b-v3 is not available",
        "no compile: DENORT_BIN is unset",
        "launching: deno run main.ts",
        "WARNING: no MODEL given: serving the small bundled demo model",
        `listening on ws://127.0.0.1:${port}/ws`,
      ]
    ) assertStringIncludes(log, want);
    assertMatch(Deno.readLinkSync(`${dir}/logs/latest.log`), /^run_\d{8}_\d{6}\.log$/);

    const again = await run("bash", ["scripts/main.sh"], { cwd: dir, env, clearEnv: true });
    assertEquals(again.code, 0);
    assertStringIncludes(again.stdout, `already running (PID ${pid}`);
    assertEquals([...Deno.readDirSync(`${dir}/logs`)].length, 2, "no second run log");
    assertEquals(readPid(dir), pid);

    const stop = await run("bash", ["scripts/stop.sh"], { cwd: dir, env, clearEnv: true });
    assertEquals(stop.code, 0, stop.stdout + stop.stderr);
    assertStringIncludes(stop.stdout, `SIGTERM to PID ${pid}`);
    assertStringIncludes(stop.stdout, "exited after");
    assert(!alive(pid), "the server is gone");
    assertEquals(processesIn(dir), [], "nothing left running");
    for (const gone of [".run.pid", ".run.state", "logs", ".tools/bin", ".tools/lib", ".cache"]) {
      assert(!exists(`${dir}/${gone}`), `${gone} purged`);
    }
    assert(exists(`${dir}/models/demo/config.json`), "the repository itself is kept");
    const conn = await Deno.connect({ hostname: "127.0.0.1", port }).then((c) => {
      c.close();
      return true;
    }, () => false);
    assert(!conn, "the port is free again");

    const idle = await run("bash", ["scripts/stop.sh", "--no-purge"], {
      cwd: dir,
      env,
      clearEnv: true,
    });
    assertEquals(idle.code, 0);
    assertStringIncludes(idle.stdout, "no server running (no .run.pid)");
  } finally {
    if (!pid) {
      try {
        pid = readPid(dir);
      } catch { /* the chain never started */ }
    }
    if (pid) killGroup(pid);
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("an explicitly requested model never falls back to the bundled one", async () => {
  const dir = await copyRepo();
  const deadHub = `http://127.0.0.1:${freePort()}/resolve`;
  try {
    for (
      const [model, message] of [
        ["parakeet-tdt-0.6b-v3", "was requested explicitly and could not be fetched"],
        [
          "no-such-model",
          "MODEL=no-such-model is neither a directory nor a model fetch-model knows",
        ],
      ]
    ) {
      const env = baseEnv({ PORT: String(freePort()), MODEL: model, MODEL_BASE_URL: deadHub });
      const r = await run("bash", ["scripts/main.sh"], { cwd: dir, env, clearEnv: true });
      assertEquals(r.code, 1, r.stdout + r.stderr);
      assertStringIncludes(r.stderr, "the chain stopped before the server listened");
      assertStringIncludes(r.stderr, message);
      assert(!exists(`${dir}/.run.pid`));
      assertEquals(processesIn(dir), []);
      const log = Deno.readTextFileSync(`${dir}/logs/latest.log`);
      assert(!log.includes("OFFLINE DEFAULT") && !log.includes("listening on"), log);
    }
  } finally {
    try {
      killGroup(readPid(dir)); // only if a chain wrongly started a server
    } catch { /* none: as expected */ }
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("MODEL unset and the hub reachable: the model is fetched into the cache and served", async () => {
  const dir = await copyRepo();
  const cache = await Deno.makeTempDir();
  // The hub serves the tiny model's files under Parakeet's names (the chain cannot tell).
  const tiny = `${dir}/models/test/tiny-tdt`;
  const files: Record<string, Uint8Array> = { "encoder-model.onnx.data": new Uint8Array(0) };
  for (const e of Deno.readDirSync(tiny)) {
    if (e.isFile) files[e.name] = Deno.readFileSync(`${tiny}/${e.name}`);
  }
  await using hub = startFixtureHub(files);
  const port = freePort();
  let pid = 0;
  try {
    const env = baseEnv({ PORT: String(port), MODEL_BASE_URL: hub.baseUrl, MODEL_CACHE: cache });
    const start = await run("bash", ["scripts/main.sh"], { cwd: dir, env, clearEnv: true });
    assertEquals(start.code, 0, start.stdout + start.stderr);
    assert(!start.stdout.includes("bundled"), start.stdout);
    pid = readPid(dir);
    const status = JSON.parse(await getText(`http://127.0.0.1:${port}/v1/status`));
    assertEquals(status.model.bundled, false);
    assertEquals(status.model.dir, "parakeet-tdt-0.6b-v3");
    const log = Deno.readTextFileSync(`${dir}/logs/latest.log`);
    assertStringIncludes(log, `model ${cache}/parakeet-tdt-0.6b-v3 (`);
    assertStringIncludes(
      log,
      `MODEL unset: serving parakeet-tdt-0.6b-v3 from ${cache}/parakeet-tdt-0.6b-v3`,
    );
    assertStringIncludes(log, "verified against the server");

    const stop = await run("bash", ["scripts/stop.sh", "--keep-models"], {
      cwd: dir,
      env,
      clearEnv: true,
    });
    assertEquals(stop.code, 0, stop.stdout + stop.stderr);
    assertStringIncludes(stop.stdout, "kept the model cache");
    assert(exists(`${cache}/parakeet-tdt-0.6b-v3/encoder-model.onnx`));
    assert(!alive(pid));

    // An explicit model directory is used as given, and a busy port stops the chain early.
    installTools(dir);
    const busy = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const busyPort = (busy.addr as Deno.NetAddr).port;
    try {
      const env2 = baseEnv({ PORT: String(busyPort), MODEL: `${cache}/parakeet-tdt-0.6b-v3` });
      const r = await run("bash", ["scripts/main.sh"], { cwd: dir, env: env2, clearEnv: true });
      assertEquals(r.code, 1);
      assertStringIncludes(r.stderr, `port ${busyPort} is already in use by another program`);
    } finally {
      busy.close();
    }
  } finally {
    if (!pid) {
      try {
        pid = readPid(dir);
      } catch { /* the chain never started */ }
    }
    if (pid) killGroup(pid);
    await Deno.remove(dir, { recursive: true });
    await Deno.remove(cache, { recursive: true });
  }
});

Deno.test({
  name: "on a terminal main.sh tails the log; Ctrl+C ends the tail and the server keeps running",
  ignore: !(await hasTool("script")),
  fn: async () => {
    const dir = await copyRepo();
    const port = freePort();
    const deadHub = `http://127.0.0.1:${freePort()}/resolve`;
    let pid = 0;
    try {
      // `script` gives main.sh a terminal; ^C typed into it reaches the foreground (main.sh and
      // its tail) only, never the chain, which runs in its own session.
      const child = new Deno.Command("script", {
        args: ["-qfec", "exec bash scripts/main.sh", "/dev/null"],
        cwd: dir,
        env: baseEnv({ PORT: String(port), MODEL_BASE_URL: deadHub }),
        clearEnv: true,
        stdin: "piped",
        stdout: "piped",
        stderr: "null",
      }).spawn();
      let out = "";
      const reading = (async () => {
        for await (const c of child.stdout.pipeThrough(new TextDecoderStream())) out += c;
      })();
      const listening = await waitFor(
        () => out.includes(`listening on ws://127.0.0.1:${port}/ws`),
        30_000,
      );
      assert(listening, `the tail never showed the server listening:\n${out}`);
      const writer = child.stdin.getWriter();
      await writer.write(new Uint8Array([3])); // Ctrl+C
      await writer.close();
      const st = await child.status;
      await reading;
      assertEquals(st.code, 0, out);
      assertStringIncludes(out, "tail stopped; the server keeps running");
      pid = readPid(dir);
      assert(alive(pid));
      assertEquals(await getText(`http://127.0.0.1:${port}/status`), "ok");
      const stop = await run("bash", ["scripts/stop.sh"], {
        cwd: dir,
        clearEnv: true,
        env: baseEnv({}),
      });
      assertEquals(stop.code, 0, stop.stdout);
      assert(!alive(pid));
    } finally {
      // Even when an assertion failed before `pid` was read: the server must not outlive us.
      if (!pid) {
        try {
          pid = readPid(dir);
        } catch { /* the chain never started */ }
      }
      if (pid) killGroup(pid);
      await Deno.remove(dir, { recursive: true });
    }
  },
});
