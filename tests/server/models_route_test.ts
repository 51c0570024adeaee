/**
 * `/v1/models` and the `model` and `language` of transcriptions against the real server (tiny
 * model, served as "tiny-tdt": its folder's name, as it has no model.lock.json).
 */
import assert from "node:assert/strict";
import { CLIPS_DIR, reference } from "../engine/fixtures.ts";
import { startTestServer } from "./harness.ts";

const SERVED = "tiny-tdt";

function transcribeForm(fields: Record<string, string>): FormData {
  const f = new FormData();
  f.append("file", new Blob([Deno.readFileSync(`${CLIPS_DIR}/digits_pi.wav`)]), "a.wav");
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

async function transcribe(http: string, fields: Record<string, string>, headers = {}) {
  const res = await fetch(`${http}/v1/audio/transcriptions`, {
    method: "POST",
    body: transcribeForm(fields),
    headers,
  });
  return { status: res.status, body: await res.json() };
}

Deno.test("GET /v1/models lists the served model in OpenAI's shape; /v1/models/{id} finds it", async () => {
  await using srv = await startTestServer();
  const list = await fetch(`${srv.http}/v1/models`);
  assert.equal(list.status, 200);
  const body = await list.json();
  assert.equal(body.object, "list");
  assert.equal(body.data.length, 1);
  const [model] = body.data;
  assert.deepEqual(Object.keys(model).sort(), ["created", "id", "object", "owned_by"]);
  assert.equal(model.id, SERVED);
  assert.equal(model.object, "model");
  assert.ok(Number.isInteger(model.created) && model.created > 0);
  assert.equal(model.owned_by, "local");

  const one = await fetch(`${srv.http}/v1/models/${SERVED}`);
  assert.equal(one.status, 200);
  assert.deepEqual(await one.json(), model);

  const other = await fetch(`${srv.http}/v1/models/whisper-1`);
  assert.equal(other.status, 404);
  const error = (await other.json()).error;
  assert.equal(error.code, "model_not_found");
  assert.equal(error.param, "model");
  assert.match(error.message, /tiny-tdt/);

  const post = await fetch(`${srv.http}/v1/models`, { method: "POST" });
  assert.equal(post.status, 405);
  await post.body?.cancel();
});

Deno.test("/v1/models is behind the token, like every API route", async () => {
  await using srv = await startTestServer({ AUTH_TOKEN: "models-secret-1" });
  const refused = await fetch(`${srv.http}/v1/models`);
  assert.equal(refused.status, 401);
  await refused.body?.cancel();
  const allowed = await fetch(`${srv.http}/v1/models`, {
    headers: { authorization: "Bearer models-secret-1" },
  });
  assert.equal(allowed.status, 200);
  assert.equal((await allowed.json()).data[0].id, SERVED);
});

Deno.test("transcriptions report the served model whatever model the request names", async () => {
  await using srv = await startTestServer();
  const expected = reference("digits_pi.wav").text;
  for (const model of [SERVED, "whisper-1", "parakeet-tdt-0.6b-v3", "whisper-large-v3", ""]) {
    const { status, body } = await transcribe(srv.http, { model, response_format: "verbose_json" });
    assert.equal(status, 200, model);
    assert.equal(body.model, SERVED, model);
    assert.equal(body.text, expected);
  }
  const { body } = await transcribe(srv.http, { response_format: "verbose_json" });
  assert.equal(body.model, SERVED);
});

Deno.test("verbose_json's language is the requested one, else null; a malformed one is refused", async () => {
  await using srv = await startTestServer();
  const none = await transcribe(srv.http, { response_format: "verbose_json" });
  assert.equal(none.status, 200);
  assert.ok("language" in none.body);
  assert.equal(none.body.language, null);
  const asked = await transcribe(srv.http, {
    response_format: "verbose_json",
    language: "en",
    prompt: "ignored: the model takes no prompt",
  });
  assert.equal(asked.status, 200);
  assert.equal(asked.body.language, "en");
  assert.equal(asked.body.text, reference("digits_pi.wav").text);
  for (const language of ["English", "EN", "e", "en-US", "engl"]) {
    const bad = await transcribe(srv.http, { language });
    assert.equal(bad.status, 400, language);
    assert.equal(bad.body.error.code, "invalid_value", language);
    assert.equal(bad.body.error.param, "language", language);
  }
});
