import assert from "node:assert/strict";
import { wordErrors } from "../../bench/wer.ts";
import { launchServer } from "../../src/cli/serve.ts";
import { ConfigError, loadServerConfig } from "../../src/server/config.ts";
import { longClipWav, TINY_MODEL } from "../engine/fixtures.ts";
import { startTestServer } from "./harness.ts";

function upload(
  http: string,
  wav: Uint8Array<ArrayBuffer>,
  format = "verbose_json",
  signal?: AbortSignal,
) {
  const f = new FormData();
  f.append("file", new Blob([wav]), "long.wav");
  f.append("response_format", format);
  return fetch(`${http}/v1/audio/transcriptions`, { method: "POST", body: f, signal });
}

Deno.test("serve refuses at start a streaming window longer than the model's positional table, naming the knobs", async () => {
  const cases: [Record<string, string>, RegExp][] = [
    [
      { LEFT_CONTEXT_MS: "60000", RIGHT_CONTEXT_MS: "60000" },
      /^LEFT_CONTEXT_MS 60000 \+ STEP_MS 240 \+ RIGHT_CONTEXT_MS 60000 make windows of 120\.24 s, longer than the model's positional table: 1250 encoder frames \(100 s/,
    ],
    [
      { LEFT_CONTEXT_MS: "40000", FILE_CHUNK_S: "60" },
      /^LEFT_CONTEXT_MS 40000 \+ FILE_CHUNK_S 60 \+ the uploads' 2 s of right context make windows of 102 s/,
    ],
  ];
  for (const [knobs, message] of cases) {
    const config = loadServerConfig({
      HOST: "127.0.0.1",
      PORT: "0",
      MODEL: TINY_MODEL,
      DEVICE: "cpu",
      ...knobs,
    });
    await assert.rejects(
      launchServer(config, { quiet: true }),
      (e) => e instanceof ConfigError && message.test(e.message),
    );
  }
});

Deno.test("every FILE_CHUNK_S decodes an upload: 1 s no longer ends in a NaN model error", async () => {
  // 16.7 s of speech, as in the report.
  const { wav, texts } = longClipWav(16.5);
  for (const chunk of ["1", "3", "8"]) {
    await using srv = await startTestServer({ FILE_CHUNK_S: chunk });
    const r = await upload(srv.http, wav);
    const body = await r.json();
    assert.equal(r.status, 200, `FILE_CHUNK_S=${chunk}: ${JSON.stringify(body)}`);
    const { errors, words } = wordErrors(texts.join(" "), body.text);
    assert.ok(errors / words < 0.5, `FILE_CHUNK_S=${chunk}: WER ${errors}/${words}: ${body.text}`);
    // Timings in whole encoder frames (80 ms), in order: no chunk starts mid-frame.
    for (const w of body.words) {
      assert.ok(Number.isInteger(Math.round(w.start * 1000) / 80), `${w.word} at ${w.start}`);
    }
    for (let i = 1; i < body.words.length; i++) {
      assert.ok(body.words[i].start >= body.words[i - 1].end, `FILE_CHUNK_S=${chunk}: word ${i}`);
    }
  }
});

Deno.test("an upload longer than the model's positional table (101 s) is transcribed whole", async () => {
  await using srv = await startTestServer();
  const { wav, texts } = longClipWav(101);
  const r = await upload(srv.http, wav);
  const body = await r.json();
  assert.equal(r.status, 200, JSON.stringify(body));
  assert.ok(body.duration > 100);
  const { errors, words } = wordErrors(texts.join(" "), body.text);
  assert.ok(errors / words < 0.4, `WER ${errors}/${words}: ${body.text}`);
  assert.ok(body.words.at(-1).end > 95, `last word ends at ${body.words.at(-1).end} s`);
});
