import assert from "node:assert/strict";
import { wavPcm16Mono16k } from "../../src/audio/wav.ts";
import { loadClipPcm16 } from "../../src/client/load_clip.ts";
import {
  FIXTURE_CLIPS_DIR,
  joinedClipsPcm16,
  pcm16Wav,
  writeJoinedClipsWav,
} from "../../src/bench/long_utterance.ts";

const DIR = new URL(`../../${FIXTURE_CLIPS_DIR}`, import.meta.url).pathname;

Deno.test("joinedClipsPcm16: every fixture clip in name order, end to end", async () => {
  const names = [...Deno.readDirSync(DIR)].map((e) => e.name).filter((n) => n.endsWith(".wav"))
    .sort();
  const joined = await joinedClipsPcm16(DIR);
  let at = 0;
  for (const name of names) {
    const { pcm } = await loadClipPcm16(`${DIR}/${name}`);
    assert.deepEqual(joined.subarray(at, at + pcm.length), pcm, name);
    at += pcm.length;
  }
  assert.equal(at, joined.length);
  assert.ok(joined.length / 32000 > 15, `${joined.length / 32000} s`);
});

Deno.test("pcm16Wav: a WAV the server's reader takes back byte for byte", async () => {
  const pcm = Uint8Array.from({ length: 3200 }, (_, i) => (i * 37) & 0xff);
  assert.deepEqual(wavPcm16Mono16k(pcm16Wav(pcm)), pcm);
  const path = await writeJoinedClipsWav(DIR);
  try {
    assert.deepEqual(wavPcm16Mono16k(await Deno.readFile(path)), await joinedClipsPcm16(DIR));
  } finally {
    await Deno.remove(path.slice(0, path.lastIndexOf("/")), { recursive: true });
  }
});
