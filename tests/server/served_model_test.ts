import assert from "node:assert/strict";
import { describeServedModel } from "../../src/server/served_model.ts";
import { TINY_MODEL } from "../engine/fixtures.ts";

Deno.test("the served model is named by model.lock.json's model, else by its folder", () => {
  const tiny = describeServedModel(TINY_MODEL);
  assert.equal(tiny.id, "tiny-tdt");
  assert.equal(tiny.owner, "local");
  assert.ok(tiny.created > 1_500_000_000, `${tiny.created}`);
  assert.equal(describeServedModel(`${TINY_MODEL}/`).id, "tiny-tdt");

  const dir = Deno.makeTempDirSync({ prefix: "served-model-" });
  try {
    Deno.writeTextFileSync(`${dir}/config.json`, "{}");
    Deno.writeTextFileSync(
      `${dir}/model.lock.json`,
      JSON.stringify({ model: "parakeet-tdt-0.6b-v3", revision: "abc", files: {} }),
    );
    const fetched = describeServedModel(dir);
    assert.equal(fetched.id, "parakeet-tdt-0.6b-v3");
    assert.equal(fetched.owner, "nvidia");
    // A lock without a model name (or not a lock at all): the folder's name.
    Deno.writeTextFileSync(
      `${dir}/model.lock.json`,
      JSON.stringify({ revision: "abc", files: {} }),
    );
    assert.equal(describeServedModel(dir).id, dir.split("/").pop());
    Deno.writeTextFileSync(`${dir}/model.lock.json`, "not json");
    assert.equal(describeServedModel(dir).id, dir.split("/").pop());
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
