/**
 * The single binary: `deno task compile` uses DENORT_BIN when set and otherwise explains what to
 * do when Deno's runtime cannot be downloaded (the case on our machines). When it can build, the
 * binary runs. ./parakeet-server works either way (deno run, same permissions).
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { copyRepo, ROOT, run } from "./ops_helpers.ts";

const DENO = `${ROOT}/.tools/bin/deno`;

Deno.test("the compile task and the launcher share one permission list, never --allow-all", () => {
  const deno = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`));
  assertEquals(deno.tasks.compile, "bash scripts/compile.sh");
  for (const f of ["scripts/compile.sh", "parakeet-server"]) {
    const text = Deno.readTextFileSync(`${ROOT}/${f}`);
    assertStringIncludes(text, "deno_permissions.sh");
    assertStringIncludes(text, '"${DENO_PERMS[@]}"');
    assert(!/--allow-all|\s-A\s/.test(text), `${f} must not grant everything`);
  }
});

Deno.test("./parakeet-server runs the program without a compiled binary", async () => {
  const r = await run(`${ROOT}/parakeet-server`, ["--version"], {
    env: { PARAKEET_FORCE_DENO_RUN: "1" },
  });
  assertEquals(r.code, 0, r.stderr);
  assertStringIncludes(r.stdout, "parakeet-server ");
});

Deno.test("deno task compile: a DENORT_BIN that is not a file is named", async () => {
  const r = await run(DENO, ["task", "compile"], {
    cwd: ROOT,
    env: { DENORT_BIN: "/nonexistent/denort", NO_COLOR: "1" },
  });
  assertEquals(r.code, 1);
  assertStringIncludes(r.stderr, "DENORT_BIN=/nonexistent/denort is not a file");
});

Deno.test("deno task compile: builds a working binary, or explains the denort download", async () => {
  const dir = await copyRepo();
  try {
    const r = await run(`${dir}/.tools/bin/deno`, ["task", "compile"], {
      cwd: dir,
      env: { NO_COLOR: "1", DENORT_BIN: "", PATH: Deno.env.get("PATH") ?? "/usr/bin:/bin" },
    });
    if (r.code === 0) {
      const v = await run(`${dir}/dist/parakeet-server`, ["--version"]);
      assertEquals(v.code, 0, v.stderr);
      const l = await run(`${dir}/parakeet-server`, ["--version"]);
      assertEquals(l.stdout, v.stdout, "the launcher prefers the compiled binary");
    } else {
      assertStringIncludes(r.stderr, "could not download its runtime");
      assertStringIncludes(r.stderr, "DENORT_BIN=/path/to/denort deno task compile");
      assertStringIncludes(r.stderr, "./parakeet-server runs the same main.ts with deno run");
      let leftover = true;
      try {
        Deno.statSync(`${dir}/dist/parakeet-server`);
      } catch {
        leftover = false;
      }
      assert(!leftover, "no half-built binary");
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
