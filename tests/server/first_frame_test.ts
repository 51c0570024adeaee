import assert from "node:assert/strict";
import { inspectFirstFrame, unsupportedAudioMessage } from "../../src/server/first_frame.ts";
import { clipPcmBytes, CLIPS_DIR } from "../engine/fixtures.ts";
import { wavOf } from "../audio/wav_header.ts";
import { connect, record, startTestServer, streamAudio } from "./harness.ts";

const bytes = (...parts: (string | number[])[]) =>
  new Uint8Array(
    parts.flatMap((p) => typeof p === "string" ? [...p].map((c) => c.charCodeAt(0)) : p),
  );

Deno.test("the first frame's container is named by its full magic", () => {
  const pad = new Array(16).fill(0);
  const cases: [Uint8Array, string][] = [
    [bytes("OggS", pad), "Ogg (Opus or Vorbis)"],
    [bytes([0x1a, 0x45, 0xdf, 0xa3], pad), "WebM/Matroska"],
    [bytes("ID3", [4, 0], pad), "MP3 (ID3 tag)"],
    [bytes("fLaC", pad), "FLAC"],
    [bytes([0, 0, 0, 0x20], "ftypM4A ", pad), "MP4/M4A"],
    [wavOf(new Uint8Array(8), 44100, 16, 2), "WAV (44100 Hz, 2 channel(s), 16-bit PCM)"],
    [wavOf(new Uint8Array(8), 16000, 8), "WAV (16000 Hz, 1 channel(s), 8-bit PCM)"],
  ];
  for (const [frame, seen] of cases) {
    assert.deepEqual(inspectFirstFrame(frame), { kind: "refused", seen });
  }
});

Deno.test("raw PCM that merely starts like a signature is audio: no sync-word or partial-magic match", () => {
  const pcm: number[][] = [
    [0xff, 0xfb, 0x90, 0x64, 0, 0, 0, 0], // an MP3 frame sync word: also −1025 then a sample
    [0xff, 0xf1, 0x50, 0x80, 0, 0, 0, 0], // an ADTS (AAC) sync word
    [0x4f, 0x67, 0x67, 0x00, 1, 2, 3, 4], // "Ogg" and not "S"
    [0x1a, 0x45, 0xdf, 0x00, 1, 2, 3, 4],
    [0x49, 0x44, 0x00, 0x00, 1, 2, 3, 4], // "ID" and not "3"
    [0, 0, 0, 0, 0, 0, 0, 0],
  ];
  for (const frame of pcm) {
    assert.deepEqual(inspectFirstFrame(new Uint8Array(frame)), { kind: "pcm" });
  }
  assert.deepEqual(inspectFirstFrame(clipPcmBytes("seven_eight.wav")), { kind: "pcm" });
});

Deno.test("a 16 kHz mono s16le WAV header is skipped; one split before its data chunk is refused", () => {
  assert.deepEqual(inspectFirstFrame(wavOf(new Uint8Array(100))), {
    kind: "wav",
    skip: 44,
  });
  assert.deepEqual(inspectFirstFrame(wavOf(new Uint8Array(0)).subarray(0, 30)), {
    kind: "refused",
    seen: "a WAV header without its data chunk in the first frame",
  });
  assert.match(
    unsupportedAudioMessage("FLAC"),
    /starts with FLAC\. \/ws takes raw 16 kHz mono 16-bit little-endian PCM \(s16le\)/,
  );
});

Deno.test("/ws answers compressed audio with unsupported_audio naming it, then closes 1003", async () => {
  await using srv = await startTestServer();
  for (
    const [frame, seen] of [
      [bytes("OggS", [0, 2], new Array(200).fill(0)), /Ogg \(Opus or Vorbis\)/],
      [bytes([0x1a, 0x45, 0xdf, 0xa3], new Array(200).fill(0)), /WebM\/Matroska/],
      [bytes("fLaC", new Array(200).fill(0)), /FLAC/],
    ] as const
  ) {
    const ws = await connect(srv.url);
    const rec = record(ws);
    ws.send(frame);
    assert.equal(await rec.closed, 1003);
    assert.equal(rec.messages.length, 1);
    assert.equal(rec.messages[0].code, "unsupported_audio");
    assert.match(rec.messages[0].message!, seen);
    assert.match(rec.messages[0].message!, /16 kHz mono 16-bit little-endian PCM/);
  }
});

Deno.test("/ws takes a 16 kHz mono WAV file sent as it is: the header is skipped, the final is the clip's", async () => {
  await using srv = await startTestServer();
  const file = Deno.readFileSync(`${CLIPS_DIR}/seven_eight.wav`);
  const asIs = await streamAudio(srv.url, file);
  const raw = await streamAudio(srv.url, clipPcmBytes("seven_eight.wav"));
  assert.deepEqual(asIs.errors, []);
  assert.equal(raw.finals.length, 1);
  assert.deepEqual(asIs.finals, raw.finals);
  // Only the first frame is looked at: later frames that look like a header are audio.
  const later = await streamAudio(
    srv.url,
    new Uint8Array([
      ...clipPcmBytes("seven_eight.wav").subarray(0, 640),
      ...bytes("OggS", new Array(636).fill(0)),
    ]),
  );
  assert.deepEqual(later.errors, []);
  assert.equal(later.finals.length, 1);
});
