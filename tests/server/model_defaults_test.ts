/**
 * A model directory's own streaming defaults (config.json `streaming_defaults`): taken for the
 * knobs the operator left unset, never over a flag or the environment, refused when bad.
 */
import assert from "node:assert/strict";
import { applyModelDefaults, ConfigError, loadServerConfig } from "../../src/server/config.ts";
import { launchServer } from "../../src/server/launch.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";

const SOURCE = "m/config.json streaming_defaults";

Deno.test("streaming_defaults fill the knobs nobody set; flags and the environment win", () => {
  const config = loadServerConfig({ LEFT_CONTEXT_MS: "960" }, ["--step-ms", "480"]);
  assert.deepEqual([...config.explicitKnobs].sort(), ["LEFT_CONTEXT_MS", "STEP_MS"]);
  const { config: c, applied } = applyModelDefaults(
    config,
    { RIGHT_CONTEXT_MS: 480, LEFT_CONTEXT_MS: 4000, STEP_MS: 160 },
    SOURCE,
  );
  assert.deepEqual(applied, ["RIGHT_CONTEXT_MS=480"]);
  assert.equal(c.rightContextMs, 480);
  assert.equal(c.leftContextMs, 960);
  assert.equal(c.stepMs, 480);
  assert.equal(config.rightContextMs, 160, "the original config is not changed");
  assert.deepEqual(applyModelDefaults(config, undefined, SOURCE).applied, []);
});

Deno.test("bad streaming_defaults are refused with the file and the knob named", () => {
  const config = loadServerConfig({});
  const bad: [unknown, RegExp][] = [
    [[480], /must be an object of knob values/],
    [{ MAX_BATCH: 8 }, /MAX_BATCH is not a knob a model may set/],
    [{ RIGHT_CONTEXT_MS: 100 }, /streaming_defaults\.RIGHT_CONTEXT_MS must be a multiple of 80/],
    [{ STEP_MS: "fast" }, /streaming_defaults\.STEP_MS must be a whole number, got "fast"/],
  ];
  for (const [defaults, message] of bad) {
    assert.throws(() => applyModelDefaults(config, defaults, SOURCE), (e: Error) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, message);
      assert.ok(e.message.startsWith("m/config.json"), e.message);
      return true;
    });
  }
});

Deno.test("the server applies a model's streaming_defaults, logs them and reports them", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (const e of Deno.readDirSync(TINY_MODEL)) {
      if (e.isFile) Deno.copyFileSync(`${TINY_MODEL}/${e.name}`, `${dir}/${e.name}`);
    }
    const cfg = JSON.parse(Deno.readTextFileSync(`${dir}/config.json`));
    cfg.streaming_defaults = { RIGHT_CONTEXT_MS: 480 };
    Deno.writeTextFileSync(`${dir}/config.json`, JSON.stringify(cfg));
    const lines: string[] = [];
    const config = loadServerConfig({ HOST: "127.0.0.1", PORT: "0", MODEL: dir, DEVICE: "cpu" });
    const { server, engine } = await launchServer(config, { log: (l) => lines.push(l) });
    try {
      const status = await (await fetch(`http://127.0.0.1:${server.port}/v1/status`)).json();
      assert.equal(status.knobs.RIGHT_CONTEXT_MS, 480);
      assert.equal(status.knobs.STEP_MS, 240);
      assert.ok(
        lines.some((l) => l.includes("streaming_defaults") && l.includes("RIGHT_CONTEXT_MS=480")),
      );
    } finally {
      await server.shutdown();
      await engine.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
