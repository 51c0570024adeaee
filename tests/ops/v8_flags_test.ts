/**
 * The server's V8 flags (a capped young generation, see scripts/deno_permissions.sh): one value
 * for every way the server starts, and the flag does what it is there for.
 */
import { assert, assertEquals, assertStringIncludes } from "./asserts.ts";
import { ROOT, run } from "./ops_helpers.ts";
import { SERVE_V8_FLAGS } from "../../src/bench/server_process.ts";

const DENO = `${ROOT}/.tools/bin/deno`;

Deno.test("every launch path gives the server the same V8 flags", () => {
  const perms = Deno.readTextFileSync(`${ROOT}/scripts/deno_permissions.sh`);
  assertEquals(perms.match(/^DENO_V8=\((.*)\)$/m)?.[1], SERVE_V8_FLAGS);
  for (const f of ["scripts/compile.sh", "parakeet-server"]) {
    assertStringIncludes(Deno.readTextFileSync(`${ROOT}/${f}`), '"${DENO_V8[@]}"', f);
  }
  const tasks = JSON.parse(Deno.readTextFileSync(`${ROOT}/deno.json`)).tasks;
  assertStringIncludes(tasks.start, ` ${SERVE_V8_FLAGS} main.ts serve`);
});

/** The young generation's largest reservation while objects that live a little pile up. */
async function youngGenerationPeakMiB(flags: string[]): Promise<number> {
  const code = `
    import { getHeapSpaceStatistics } from "node:v8";
    const ring = new Array(20000);
    let peak = 0;
    for (let i = 0; i < 3_000_000; i++) {
      ring[i % ring.length] = { a: [i, i + 1, i + 2], s: "x" + i };
      if (i % 10000 === 0) {
        const s = getHeapSpaceStatistics().find((s) => s.space_name === "new_space");
        peak = Math.max(peak, s.space_size);
      }
    }
    console.log(peak / 2 ** 20);`;
  const r = await run(DENO, ["eval", ...flags, code]);
  assertEquals(r.code, 0, r.stderr);
  return Number(r.stdout.trim());
}

Deno.test("the server's V8 flags cap the young generation at 16 MiB; V8's default lets it grow past", async () => {
  const capped = await youngGenerationPeakMiB([SERVE_V8_FLAGS]);
  const free = await youngGenerationPeakMiB([]);
  assert(capped > 0 && capped <= 16, `capped: ${capped} MiB`);
  assert(free > 16, `default: ${free} MiB`);
});
