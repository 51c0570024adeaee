/**
 * The start-up warm-up batch (src/engine/warm_up.ts): one encoder call and one joint call at
 * the full batch, before the server listens; WARMUP_BATCH caps at MAX_BATCH and 0 turns it off.
 */
import assert from "node:assert/strict";
import { OrtRuntime } from "../../ffi/mod.ts";
import { launchServer } from "../../src/server/launch.ts";
import { runInference } from "../../src/engine/batch_inference.ts";
import type { InferenceModel } from "../../src/engine/inference_contract.ts";
import { warmUp, warmUpRequest } from "../../src/engine/warm_up.ts";
import { ParakeetModel } from "../../src/model/parakeet_model.ts";
import { loadServerConfig } from "../../src/server/config.ts";
import { TINY_MODEL } from "./fixtures.ts";

Deno.test("the warm-up request is one encoder call and one joint batch at the full size", () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const encodes: [number, number][] = [];
  const joins: number[] = [];
  const counting: InferenceModel = {
    featuresSize: model.featuresSize,
    spec: model.spec,
    joiner: {
      join: (input) => {
        joins.push(input.batch);
        return model.joiner.join(input);
      },
    },
    encode: (f, batch, frames, lengths) => {
      encodes.push([batch, frames]);
      return model.encode(f, batch, frames, lengths);
    },
  };
  const result = runInference(counting, warmUpRequest(model.spec, model.featuresSize, 6, 272));
  assert.deepEqual(encodes, [[6, 272]]);
  assert.equal(joins[0], 6, "the first joint call carries every row");
  assert.equal(result.rows.length, 6);
  assert.throws(() => warmUpRequest(model.spec, model.featuresSize, 0, 272), RangeError);
  assert.throws(() => warmUpRequest(model.spec, model.featuresSize, 4, 2.5), RangeError);
});

Deno.test("a failed warm-up batch names the knobs that shrink or skip it", async () => {
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, TINY_MODEL, { device: "cpu" });
  const failing = { run: () => Promise.reject(new Error("out of device memory")) };
  await assert.rejects(
    warmUp(failing, model.spec, model.featuresSize, 32, 240),
    /warm-up batch \(32 windows of 240 frames\) failed: out of device memory\. Lower MAX_BATCH, or set WARMUP_BATCH=0/,
  );
});

for (
  const [env, expected] of [
    [{ MAX_BATCH: "3" }, "warm-up: one batch of 3 windows × 240 frames"],
    [{ MAX_BATCH: "8", WARMUP_BATCH: "2" }, "warm-up: one batch of 2 windows × 240 frames"],
    [{ WARMUP_BATCH: "0" }, null],
  ] as const
) {
  Deno.test(`the server warms up before it listens: ${JSON.stringify(env)}`, async () => {
    const lines: string[] = [];
    const config = loadServerConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      MODEL: TINY_MODEL,
      DEVICE: "cpu",
      ...env,
    });
    const { server, engine } = await launchServer(config, { log: (l) => lines.push(l) });
    try {
      const warm = lines.findIndex((l) => l.startsWith("warm-up:"));
      const listening = lines.findIndex((l) => l.startsWith("listening on"));
      if (expected === null) {
        assert.equal(warm, -1, lines.join("\n"));
      } else {
        assert.ok(lines[warm]?.startsWith(expected), lines.join("\n"));
        assert.ok(warm < listening, "warm before listening");
      }
    } finally {
      await server.shutdown();
      await engine.close();
    }
  });
}
