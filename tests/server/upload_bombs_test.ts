/**
 * Files built to cost far more than their size, uploaded to a live server: each is refused (or
 * capped) within 1 s, and the server's memory comes back to within 64 MiB of where it was.
 */
import assert from "node:assert/strict";
import { pcmWav } from "../audio/wav_header.ts";
import { rssMiB } from "../audio/proc_children.ts";
import { startTestServer } from "./harness.ts";
import { uploadFromDisk } from "./upload_client.ts";

const gc = (globalThis as { gc?: () => void }).gc;

async function settledRss(): Promise<number> {
  for (let i = 0; i < 3; i++) {
    gc?.();
    await new Promise((r) => setTimeout(r, 50));
  }
  return rssMiB();
}

async function upload(http: string, bytes: () => Uint8Array<ArrayBuffer>) {
  const { response, sentAt } = await uploadFromDisk(http, bytes());
  const answer = await response.json();
  return {
    status: response.status,
    code: answer.error?.code as string,
    ms: performance.now() - sentAt,
  };
}

async function silentFlac(seconds: number): Promise<Uint8Array<ArrayBuffer>> {
  const path = await Deno.makeTempFile({ suffix: ".flac" });
  try {
    const r = await new Deno.Command("sox", {
      args: ["-n", "-r", "16000", "-c", "1", path, "trim", "0", String(seconds)],
      stderr: "piped",
    }).output();
    assert.ok(r.success, new TextDecoder().decode(r.stderr));
    return await Deno.readFile(path);
  } finally {
    await Deno.remove(path);
  }
}

Deno.test({
  name: "five upload bombs are each refused within 1 s and leave RSS within 64 MiB of baseline",
  ignore: !gc,
  async fn() {
    await using srv = await startTestServer({ MAX_UPLOAD_S: "60" });
    const flac = await silentFlac(3600);
    const hidden = flac.slice();
    hidden[21] &= 0xf0;
    hidden.fill(0, 22, 26);
    const bombs: [string, () => Uint8Array<ArrayBuffer>, number, string][] = [
      [
        "244-byte WAV at 4,000,037 Hz",
        () => pcmWav(4_000_037, 16, 200),
        415,
        "unsupported_sample_rate",
      ],
      ["20 KB 8-bit WAV at 4 Hz", () => pcmWav(4, 8, 20_000), 415, "unsupported_sample_rate"],
      ["FLAC of 1 h of silence", () => flac, 413, "audio_too_long"],
      // The same with STREAMINFO's sample count zeroed ("unknown"): ffmpeg's output is counted.
      ["FLAC of 1 h hiding its length", () => hidden, 413, "audio_too_long"],
      // 94 MB: 49 minutes of 16 kHz 16-bit audio, under MAX_UPLOAD_BYTES, over MAX_UPLOAD_S.
      ["94 MB WAV", () => pcmWav(16000, 16, 94_000_000), 413, "audio_too_long"],
    ];
    // A first round brings the process to its steady state (worker code loaded, allocator
    // arenas grown by a 94 MB body once); the second must neither stall nor grow it.
    for (const [what, bytes, status, code] of bombs) {
      const r = await upload(srv.http, bytes);
      assert.equal(r.status, status, `${what}: ${r.status} ${r.code}`);
      assert.equal(r.code, code, what);
    }
    const baseline = await settledRss();
    for (const [what, bytes, status, code] of bombs) {
      const r = await upload(srv.http, bytes);
      assert.equal(r.status, status, `${what}: ${r.status} ${r.code}`);
      assert.equal(r.code, code, what);
      assert.ok(r.ms < 1000, `${what}: answered ${Math.round(r.ms)} ms after the body`);
      const rss = await settledRss();
      assert.ok(
        rss - baseline < 64,
        `${what}: RSS ${rss.toFixed(0)} MiB, baseline ${baseline.toFixed(0)} MiB`,
      );
    }
  },
});
