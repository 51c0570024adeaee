import assert from "node:assert/strict";
import { clipPcmBytes, CLIPS_DIR, reference } from "../engine/fixtures.ts";
import { wavOf } from "../audio/wav_header.ts";
import { buildWav } from "../audio/wav_builder.ts";
import { startTestServer } from "./harness.ts";
import { StreamSocket } from "../../src/client/stream_socket.ts";
import { handleTranscription } from "../../src/server/transcription_route.ts";
import { uploadDecodeLimits } from "../../src/audio/decode_limits.ts";

function form(file: Blob | null, fields: Record<string, string> = {}, name = "a.wav"): FormData {
  const f = new FormData();
  if (file) f.append("file", file, name);
  for (const [k, v] of Object.entries(fields)) f.append(k, v);
  return f;
}

const clipBlob = (clip: string) => new Blob([Deno.readFileSync(`${CLIPS_DIR}/${clip}`)]);

async function post(url: string, body: FormData | string, method = "POST") {
  const res = await fetch(`${url}/v1/audio/transcriptions`, {
    method,
    body: method === "POST" ? body : undefined,
  });
  const text = await res.text();
  return { status: res.status, type: res.headers.get("content-type") ?? "", text };
}

Deno.test("POST /v1/audio/transcriptions answers json, text, verbose_json, srt and vtt", async () => {
  await using srv = await startTestServer();
  const expected = reference("digits_pi.wav").text;
  const json = await post(srv.http, form(clipBlob("digits_pi.wav"), { model: "whisper-1" }));
  assert.equal(json.status, 200);
  assert.deepEqual(JSON.parse(json.text), { text: expected });
  const text = await post(srv.http, form(clipBlob("digits_pi.wav"), { response_format: "text" }));
  assert.equal(text.text, expected + "\n");
  assert.match(text.type, /text\/plain/);
  const verbose = JSON.parse(
    (await post(srv.http, form(clipBlob("digits_pi.wav"), { response_format: "verbose_json" })))
      .text,
  );
  assert.equal(verbose.text, expected);
  assert.equal(verbose.words.length, expected.split(" ").length);
  const srt = await post(srv.http, form(clipBlob("digits_pi.wav"), { response_format: "srt" }));
  assert.match(srt.text, /^1\n00:00:\d\d,\d{3} --> 00:00:\d\d,\d{3}\n/);
  const vtt = await post(srv.http, form(clipBlob("digits_pi.wav"), { response_format: "vtt" }));
  assert.match(vtt.text, /^WEBVTT\n\n00:00:\d\d\.\d{3} --> /);
});

Deno.test("POST /v1/audio/transcriptions: every bad request gets its status and OpenAI-shaped error", async () => {
  await using srv = await startTestServer({ MAX_UPLOAD_BYTES: "200000" });
  const nanWav = new Uint8Array(buildWav({
    formatTag: 3,
    bitsPerSample: 32,
    data: new Uint8Array(new Float32Array([0.5, NaN, 0]).buffer),
  }));
  const cases: [FormData | string, number, string, string?][] = [
    [form(null, { model: "x" }), 400, "missing_file"],
    [form(clipBlob("digits_pi.wav"), { response_format: "mp3" }), 400, "invalid_response_format"],
    [form(new Blob([new Uint8Array(250_000)])), 413, "file_too_large"],
    [
      form(new Blob([new TextEncoder().encode("plain text, not audio")]), {}, "notes.txt"),
      415,
      "unsupported_format",
    ],
    [form(new Blob([new TextEncoder().encode("RIFF\x04\x00\x00\x00WAVE")])), 400, "bad_audio"],
    [form(new Blob([nanWav])), 400, "bad_audio", "sample frame 1 decodes to NaN"],
    ["not a form", 400, "invalid_body"],
  ];
  for (const [body, status, code, detail] of cases) {
    const r = await post(srv.http, body);
    assert.equal(r.status, status, `${code}: ${r.text}`);
    const err = JSON.parse(r.text).error;
    assert.equal(err.code, code);
    if (detail) assert.ok(err.message.includes(detail), err.message);
    assert.ok(err.message.length > 10);
    assert.doesNotMatch(err.message, /\/tmp\//, "no server paths in messages");
  }
  const get = await post(srv.http, "", "GET");
  assert.equal(get.status, 405);
});

Deno.test("a refused response_format is quoted, at most 50 characters of it", async () => {
  const body = form(new Blob(["not audio"]), { response_format: "x".repeat(1_000_000) });
  const req = new Request("http://127.0.0.1/v1/audio/transcriptions", { method: "POST", body });
  const res = await handleTranscription(req, {
    servedModel: "parakeet-test",
    maxUploadBytes: 8 << 20,
    limits: uploadDecodeLimits(60, 5),
    openSession: () => {
      throw new Error("a refused form opens no session");
    },
    closeSession: () => {},
    wake: () => {},
  });
  assert.equal(res.status, 400);
  const { error } = await res.json();
  assert.equal(error.code, "invalid_response_format");
  assert.match(error.message, /^response_format must be one of .*, got "x{50}"$/);
});

Deno.test("a long upload beside a live stream leaves the stream's partials flowing", async () => {
  await using srv = await startTestServer({ FILE_CHUNK_S: "2" });
  // 40 s of speech: the fixture clips repeated.
  const pcm = clipPcmBytes("digits_pi.wav");
  const reps = 14;
  const repeated = new Uint8Array(pcm.length * reps);
  for (let i = 0; i < reps; i++) repeated.set(pcm, i * pcm.length);
  const big = wavOf(repeated);

  const upload = post(srv.http, form(new Blob([big]), { response_format: "verbose_json" }));
  // A live stream at real time alongside: every partial's step latency is observed.
  const gaps: number[] = [];
  let last = performance.now();
  const ws = await StreamSocket.open(srv.url);
  ws.onMessage(({ at }) => {
    gaps.push(at - last);
    last = at;
  });
  await ws.sendPcm(clipPcmBytes("yes_countdown.wav"), { rtf: 1 });
  await ws.close();
  const r = await upload;
  assert.equal(r.status, 200);
  const verbose = JSON.parse(r.text);
  // The clip repeated back to back, decoded in 2 s windows: nearly every word comes through.
  const words = verbose.text.split(" ");
  assert.ok(words.length >= reps * 5, `${words.length} words: ${verbose.text}`);
  assert.ok(verbose.text.startsWith(reference("digits_pi.wav").text), verbose.text);
  assert.ok(gaps.length >= 2, "partials flowed during the upload");
  // Words of a long file stay monotonic across its windows.
  for (let i = 1; i < verbose.words.length; i++) {
    assert.ok(verbose.words[i].start >= verbose.words[i - 1].end);
  }
});
