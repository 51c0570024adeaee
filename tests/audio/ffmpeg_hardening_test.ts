import assert from "node:assert/strict";
import { AudioFileError } from "../../src/audio/audio_error.ts";
import { sweepStaleDecodeDirs } from "../../src/audio/decode_temp.ts";
import {
  type DecodeLimits,
  DEFAULT_DECODE_LIMITS,
  uploadDecodeLimits,
} from "../../src/audio/decode_limits.ts";
import { decodeWithFfmpeg } from "../../src/audio/ffmpeg.ts";
import { FFMPEG_INPUTS, ffmpegArgs } from "../../src/audio/ffmpeg_input.ts";
import { decodeAudio } from "../../src/audio/read_audio.ts";
import { childrenNamed, exists, waitFor } from "./proc_children.ts";

const NO_FFMPEG = "/nonexistent/ffmpeg";
const enc = (s: string) => new TextEncoder().encode(s);

async function sox(args: string[]): Promise<void> {
  const { success, stderr } = await new Deno.Command("sox", { args, stderr: "piped" }).output();
  assert.ok(success, new TextDecoder().decode(stderr));
}

async function ffmpegEncode(args: string[]): Promise<void> {
  const r = await new Deno.Command("ffmpeg", {
    args: ["-nostdin", "-loglevel", "error", "-y", ...args],
    stderr: "piped",
  }).output();
  assert.ok(r.success, new TextDecoder().decode(r.stderr));
}

const dir = await Deno.makeTempDir({ prefix: "ffmpeg_hardening_" });
/** One hour of silence as FLAC (190 KB): ffmpeg needs about a second to decode it. */
const HOUR_FLAC = `${dir}/hour.flac`;
await sox(["-n", "-r", "16000", "-c", "1", HOUR_FLAC, "trim", "0", "3600"]);
/** One second of a tone as MP3, the file a playlist would name. */
const SECRET_MP3 = `${dir}/secret.mp3`;
await ffmpegEncode(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", SECRET_MP3]);

addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));

const noFfmpegLeft = () => childrenNamed(Deno.pid, "ffmpeg").length === 0 ? true : undefined;

Deno.test("playlists, concat scripts, MPEG-TS and image lists are refused before ffmpeg runs", async () => {
  const attacks: [string, Uint8Array][] = [
    ["HLS playlist", enc(`#EXTM3U\n#EXT-X-TARGETDURATION:10\n#EXTINF:1,\n${SECRET_MP3}\n`)],
    ["HLS without ENDLIST, file: URL", enc(`#EXTM3U\n#EXTINF:1,\nfile:${SECRET_MP3}\n`)],
    ["concat script", enc(`ffconcat version 1.0\nfile '${SECRET_MP3}'\n`)],
    ["MPEG-TS packet", new Uint8Array([0x47, 0x40, 0x00, 0x10, ...new Uint8Array(184)])],
    ["SDP", enc(`v=0\no=- 0 0 IN IP4 127.0.0.1\nm=audio 5004 RTP/AVP 0\n`)],
    ["image pattern", enc(`${dir}/img%03d.png`)],
  ];
  for (const [what, bytes] of attacks) {
    // ffmpeg is "not installed": a refusal that needed it would say so.
    await assert.rejects(decodeAudio(bytes, "upload", { ffmpegPath: NO_FFMPEG }), (e: unknown) => {
      assert.ok(e instanceof AudioFileError, what);
      assert.equal(e.code, "unsupported-format", what);
      assert.match(e.message, /not an audio container this server reads/, what);
      return true;
    });
  }
});

Deno.test("ffmpeg gets the sniffed demuxer forced and only the protocol of its one input", () => {
  const pipe = ffmpegArgs(FFMPEG_INPUTS.mp3, { pipe: true }, 16000, 61);
  const at = (args: string[], flag: string) => args[args.indexOf(flag) + 1];
  assert.equal(at(pipe, "-f"), "mp3");
  assert.equal(at(pipe, "-protocol_whitelist"), "pipe");
  assert.equal(at(pipe, "-i"), "pipe:0");
  assert.ok(pipe.indexOf("-f") < pipe.indexOf("-i"), "-f is an input option");
  assert.equal(at(pipe, "-t"), "61");
  const file = ffmpegArgs(FFMPEG_INPUTS.mp4, { path: "/x/input" }, 16000, 61);
  assert.equal(at(file, "-f"), "mov");
  assert.equal(at(file, "-protocol_whitelist"), "file");
  assert.equal(at(file, "-enable_drefs"), "0");
  assert.equal(at(file, "-i"), "file:/x/input");
  for (const spec of Object.values(FFMPEG_INPUTS)) {
    assert.doesNotMatch(spec.demuxer, /hls|concat|image|lavfi|sdp|rtp|mpegts/);
  }
});

Deno.test("an MP3 decodes through stdin; an M4A through a private folder that is then removed", async () => {
  const root = `${dir}/root`;
  const mp3 = await decodeAudio(await Deno.readFile(SECRET_MP3), "upload", { tempRoot: root });
  assert.ok(Math.abs(mp3.durationSec - 1) < 0.1, `${mp3.durationSec}`);
  const m4a = `${dir}/clip.m4a`;
  await ffmpegEncode(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", m4a]);
  const a = await decodeAudio(await Deno.readFile(m4a), "upload", { tempRoot: root });
  assert.equal(a.sourceFormat, "MP4/M4A (via ffmpeg)");
  assert.ok(Math.abs(a.durationSec - 1) < 0.1, `${a.durationSec}`);
  assert.deepEqual([...Deno.readDirSync(root)], [], "no folder left after success");
  // A broken M4A: ffmpeg fails, and the folder goes all the same.
  const broken = enc("\0\0\0\x18ftypM4A \0\0\0\0M4A isom and then nothing");
  await assert.rejects(decodeAudio(broken, "upload", { tempRoot: root }), AudioFileError);
  assert.deepEqual([...Deno.readDirSync(root)], [], "no folder left after failure");
});

Deno.test("a FLAC declaring more than MAX_UPLOAD_S is refused from its header, ffmpeg not run", async () => {
  const bytes = await Deno.readFile(HOUR_FLAC);
  await assert.rejects(
    decodeAudio(bytes, "upload", {
      limits: { maxDurationS: 600, timeoutMs: 60_000 },
      ffmpegPath: NO_FFMPEG,
    }),
    (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "too-long");
      assert.match(e.message, /lasts 3600\.0 s, more than the limit of 600 s \(MAX_UPLOAD_S\)/);
      return true;
    },
  );
});

Deno.test("ffmpeg output past MAX_UPLOAD_S is refused as too-long at the limit, ffmpeg reaped", async () => {
  // Straight to ffmpeg (no header check): its output bytes are counted and it is killed.
  const bytes = await Deno.readFile(HOUR_FLAC);
  const t0 = performance.now();
  await assert.rejects(
    decodeWithFfmpeg(
      { file: "upload", formatName: "FLAC", spec: FFMPEG_INPUTS.flac, bytes },
      { limits: { maxDurationS: 60, timeoutMs: 60_000 } },
    ),
    (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "too-long");
      assert.match(e.message, /runs past the limit of 60 s \(MAX_UPLOAD_S\)/);
      return true;
    },
  );
  const ms = performance.now() - t0;
  assert.ok(ms < 1000, `refused after ${Math.round(ms)} ms`);
  assert.equal(noFfmpegLeft(), true, "no ffmpeg left running");
});

Deno.test("ffmpeg past its wall-clock limit is killed and reaped: decode-timeout", async () => {
  const bytes = await Deno.readFile(HOUR_FLAC);
  const t0 = performance.now();
  await assert.rejects(
    decodeWithFfmpeg(
      { file: "upload", formatName: "FLAC", spec: FFMPEG_INPUTS.flac, bytes },
      { limits: { maxDurationS: 10_800, timeoutMs: 100 } },
    ),
    (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "decode-timeout");
      return true;
    },
  );
  assert.ok(performance.now() - t0 < 1000);
  assert.equal(noFfmpegLeft(), true, "no ffmpeg left running");
});

Deno.test("aborting the signal kills ffmpeg at once and rejects with the signal's reason", async () => {
  const bytes = await Deno.readFile(HOUR_FLAC);
  const abort = new AbortController();
  const decoding = decodeAudio(bytes, "upload", {
    limits: { maxDurationS: 10_800, timeoutMs: 60_000 },
    signal: abort.signal,
  });
  const pid = await waitFor(() => childrenNamed(Deno.pid, "ffmpeg")[0], 5000);
  assert.ok(pid, "ffmpeg started");
  const reason = new Error("client went away");
  abort.abort(reason);
  await assert.rejects(decoding, (e: unknown) => e === reason);
  // Reaped, not a zombie: the pid is gone from /proc.
  assert.equal(exists(pid), false, "ffmpeg killed and reaped");
});

/** A stand-in for ffmpeg named `ffmpeg` (so the process checks find it), running `body`. */
async function fakeFfmpeg(name: string, body: string): Promise<string> {
  const path = `${dir}/${name}/ffmpeg`;
  await Deno.mkdir(`${dir}/${name}`);
  await Deno.writeTextFile(path, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return path;
}

const mp3Source = async () => ({
  file: "upload",
  formatName: "MP3",
  spec: FFMPEG_INPUTS.mp3,
  bytes: await Deno.readFile(SECRET_MP3),
});

Deno.test("ffmpeg starts under the upload's kernel limits: CPU time from the decode timeout, 512 MiB", async () => {
  // It reports the limits it was started with, then fails: its words are in the error.
  const report = await fakeFfmpeg("report", `echo "cpu=$(ulimit -t) as=$(ulimit -v)" >&2; exit 1`);
  const cases: [string, DecodeLimits, RegExp][] = [
    ["defaults", DEFAULT_DECODE_LIMITS, /\(exit code 1: cpu=120 as=524288\)/],
    ["MAX_UPLOAD_S=60, UPLOAD_DECODE_TIMEOUT_S=30", uploadDecodeLimits(60, 30), /cpu=30 as=524288/],
    ["given", { maxDurationS: 60, timeoutMs: 2500, memoryMiB: 600 }, /cpu=3 as=614400/],
  ];
  for (const [what, limits, said] of cases) {
    await assert.rejects(
      decodeWithFfmpeg(await mp3Source(), { ffmpegPath: report, limits }),
      (e: unknown) => {
        assert.ok(e instanceof AudioFileError, what);
        assert.equal(e.code, "decoder-failed", what);
        assert.match(e.message, said, what);
        return true;
      },
    );
  }
});

Deno.test("ffmpeg past its address-space limit fails as decode-out-of-memory; no process or folder left", async () => {
  const root = `${dir}/memory`;
  const m4a = `${dir}/memory.m4a`;
  await ffmpegEncode(["-f", "lavfi", "-i", "sine=frequency=440:duration=1", "-c:a", "aac", m4a]);
  const limits = { maxDurationS: 600, timeoutMs: 60_000, memoryMiB: 64 };
  // The same files decode under the default limits (the other tests): here only the cap differs.
  for (const path of [SECRET_MP3, m4a]) {
    await assert.rejects(
      decodeAudio(await Deno.readFile(path), "upload", { limits, tempRoot: root }),
      (e: unknown) => {
        assert.ok(e instanceof AudioFileError, path);
        assert.equal(e.code, "decode-out-of-memory", `${path}: ${e.message}`);
        assert.match(e.message, /ran out of memory .* held to 64 MiB of address space/, path);
        return true;
      },
    );
    assert.equal(noFfmpegLeft(), true, "no ffmpeg left running");
  }
  assert.deepEqual([...Deno.readDirSync(root)], [], "the M4A's private folder removed");
});

Deno.test("ffmpeg past its CPU-time limit is killed by the kernel: decode-timeout, soon, reaped", async () => {
  // A decoder stuck in a loop on hostile input, with the wall-clock limit far away.
  const spin = await fakeFfmpeg("spin", "while :; do :; done");
  const t0 = performance.now();
  await assert.rejects(
    decodeWithFfmpeg(await mp3Source(), {
      ffmpegPath: spin,
      limits: { maxDurationS: 600, timeoutMs: 60_000, cpuSeconds: 1 },
    }),
    (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "decode-timeout", e.message);
      assert.match(e.message, /killed \(SIGKILL\) .* CPU-time limit of 1 s/);
      return true;
    },
  );
  const ms = performance.now() - t0;
  assert.ok(ms < 10_000, `ended after ${Math.round(ms)} ms`);
  assert.equal(noFfmpegLeft(), true, "no ffmpeg left running");
});

Deno.test("an ffmpeg not on PATH, or not at its path, is 'not installed'", async () => {
  for (const ffmpegPath of [NO_FFMPEG, "no-such-ffmpeg-anywhere"]) {
    await assert.rejects(decodeWithFfmpeg(await mp3Source(), { ffmpegPath }), (e: unknown) => {
      assert.ok(e instanceof AudioFileError);
      assert.equal(e.code, "unsupported-format", e.message);
      assert.match(e.message, new RegExp(`without ffmpeg \\("${ffmpegPath}" not found\\)`));
      return true;
    });
  }
});

Deno.test("an hour of FLAC decodes whole under the default limits", async () => {
  const samples = await decodeWithFfmpeg({
    file: "upload",
    formatName: "FLAC",
    spec: FFMPEG_INPUTS.flac,
    bytes: await Deno.readFile(HOUR_FLAC),
  });
  assert.equal(samples.length, 3600 * 16000);
  assert.ok(samples.every((x) => x === 0), "silence");
});

Deno.test("the start-up sweep removes decode folders whose server is gone, and only those", async () => {
  const root = `${dir}/sweep`;
  await Deno.mkdir(root);
  // A pid that existed and exited: a short-lived child, reaped.
  const gone = new Deno.Command("true").spawn();
  await gone.status;
  const live = new Deno.Command("sleep", { args: ["30"] }).spawn();
  try {
    for (const name of [`decode-${gone.pid}-a`, `decode-${live.pid}-b`, `decode-${Deno.pid}-c`]) {
      await Deno.mkdir(`${root}/${name}`);
      await Deno.writeFile(`${root}/${name}/input`, new Uint8Array(10));
    }
    await Deno.mkdir(`${root}/someone-elses`);
    const removed = await sweepStaleDecodeDirs(root);
    assert.deepEqual(removed.sort(), [`decode-${Deno.pid}-c`, `decode-${gone.pid}-a`].sort());
    const left = [...Deno.readDirSync(root)].map((e) => e.name).sort();
    assert.deepEqual(left, [`decode-${live.pid}-b`, "someone-elses"].sort());
  } finally {
    live.kill("SIGKILL");
    await live.status;
  }
});
