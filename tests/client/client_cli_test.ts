import assert from "node:assert/strict";
import { readAudioFile } from "../../src/audio/read_audio.ts";
import { floatToPcm16 } from "../../src/client/pcm.ts";
import { startTestServer, streamAudio } from "../server/harness.ts";
import { CLIP, runCli, scriptedServer } from "./cli_run.ts";

Deno.test("client prints each partial and the final as the server sends them, exit 0", async () => {
  const partials = ["three", "three one", "three one four"];
  const fake = scriptedServer({
    onOpen: (ws) => {
      for (const text of partials) ws.send(JSON.stringify({ type: "partial", text }));
    },
    onEos: (ws) => ws.send(JSON.stringify({ type: "final", text: "three one four one" })),
  });
  try {
    const r = await runCli(["client", "--file", CLIP, "--url", fake.url, "--rtf", "0"]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(
      r.stdout,
      "partial: three\npartial: three one\npartial: three one four\nfinal: three one four one\n",
    );
  } finally {
    await fake.close();
  }
});

Deno.test("client against the real server: the final equals the server's own final", async () => {
  await using server = await startTestServer();
  const pcm = floatToPcm16((await readAudioFile(CLIP)).samples);
  const direct = await streamAudio(server.url, pcm, { rtf: 0 });
  const r = await runCli(["client", "--file", CLIP, "--url", server.url, "--rtf", "4"]);
  assert.equal(r.code, 0, r.stderr);
  const lines = r.stdout.trimEnd().split("\n");
  assert.equal(lines.at(-1), `final: ${direct.finals[0]}`);
  const shown = lines.slice(0, -1);
  assert.ok(shown.length > 0, "partials were shown");
  for (const l of shown) assert.match(l, /^partial: /);
});

Deno.test("client exits 1 and names the error when the server refuses a frame", async () => {
  await using server = await startTestServer({ MAX_FRAME_BYTES: "1000" });
  const r = await runCli([
    "client",
    "--file",
    CLIP,
    "--url",
    server.url,
    "--frame-ms",
    "500",
    "--rtf",
    "0",
  ]);
  assert.equal(r.code, 1);
  assert.match(r.stderr, /server error message_too_large/);
  assert.match(r.stderr, /ended abnormally: close code 1009/);
});

Deno.test("client exits 1 when the server closes before the final", async () => {
  const fake = scriptedServer({ onEos: (ws) => ws.close(1011, "boom") });
  try {
    const r = await runCli(["client", "--file", CLIP, "--url", fake.url, "--rtf", "0"]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /close code 1011 \(boom\); 1 final\(s\) never arrived/);
  } finally {
    await fake.close();
  }
});

Deno.test("client: unreachable server → 1; bad URL, bad --rtf, no --file → 2; bad file → 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close(); // a port nobody listens on
  const down = await runCli(["client", "--file", CLIP, "--url", `ws://127.0.0.1:${port}/ws`]);
  assert.equal(down.code, 1);
  assert.match(down.stderr, /cannot connect to ws:\/\/127\.0\.0\.1:\d+\/ws: .*server running/);

  const badUrl = await runCli(["client", "--file", CLIP, "--url", "http://x/ws"]);
  assert.equal(badUrl.code, 2);
  assert.match(badUrl.stderr, /--url must start with ws:\/\/ or wss:\/\/, got "http:\/\/x\/ws"/);
  const badRtf = await runCli(["client", "--file", CLIP, "--rtf", "fast"]);
  assert.equal(badRtf.code, 2);
  assert.match(badRtf.stderr, /--rtf must be a number from 0 to 1000, got "fast"/);
  const noFile = await runCli(["client"]);
  assert.equal(noFile.code, 2);
  assert.match(noFile.stderr, /--file is required/);
  const missing = await runCli(["client", "--file", "/nonexistent.wav"]);
  assert.equal(missing.code, 1);
  assert.match(missing.stderr, /Cannot read audio file "\/nonexistent\.wav"/);
});
