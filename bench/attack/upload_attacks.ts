/** Upload bombs on POST /v1/audio/transcriptions, each from its own source address. */
import { type Attack, judge } from "./attack.ts";
import { fetchFrom, type FetchResult } from "./fetch_from.ts";
import { knob } from "./knobs.ts";
import { CLIP, clipPcm, localFilePlaylist, wavBytes } from "./media_files.ts";

/** Uploads `bytes` as the multipart `file` field named `filename`. */
function upload(
  source: string,
  port: number,
  bytes: Uint8Array,
  filename: string,
  timeoutMs: number,
): Promise<FetchResult> {
  const form = new FormData();
  form.append("file", new File([bytes as Uint8Array<ArrayBuffer>], filename));
  form.append("model", "parakeet");
  return fetchFrom(
    source,
    `http://127.0.0.1:${port}/v1/audio/transcriptions`,
    { method: "POST", body: form },
    timeoutMs,
  );
}

/** The transcript in a 200 answer (JSON `text`), else "". */
function transcriptOf(r: FetchResult): string {
  try {
    return String(JSON.parse(r.body).text ?? "");
  } catch {
    return "";
  }
}

const is4xx = (s: number) => s >= 400 && s < 500;
/** How long an upload that should be refused at once is waited for. */
const ANSWER_MS = 3_000;
/** How long past its limit a bomb is waited for: the report then says "over the limit". */
const GRACE_MS = 1_000;
/** How long a normal 30 s upload may take when several run at once. */
const SPEECH_UPLOAD_MS = 15_000;

export const hlsPlaylist: Attack = {
  name: "upload-hls-local-file",
  sent: () => `an .m3u8 playlist naming ${CLIP} (a file on the server's disk)`,
  expected: () => "refused (415 or 400), never 200 with that file's transcript",
  async run(ctx) {
    const r = await upload(ctx.address(1), ctx.port, localFilePlaylist(), "list.m3u8", ANSWER_MS);
    const observed = { status: r.status, ms: r.ms, transcript: transcriptOf(r) };
    return judge(observed, [[
      r.status === 415 || r.status === 400,
      r.status === 200
        ? `200 with the local file's transcript "${observed.transcript}"`
        : `answered ${r.status}, not 415/400`,
    ]]);
  },
};

export const hugeRateWav: Attack = {
  name: "upload-wav-4000037-hz",
  sent: () => "a 244-byte WAV whose header declares 4,000,037 Hz",
  expected: (k) => `4xx within ${k.bombAnswerS} s`,
  async run(ctx) {
    const wav = wavBytes({ rate: 4_000_037, bits: 16, channels: 1, data: new Uint8Array(200) });
    const limitMs = ctx.knobs.bombAnswerS * 1000;
    const r = await upload(ctx.address(1), ctx.port, wav, "fast.wav", limitMs + GRACE_MS);
    const observed = { bytes: wav.length, status: r.status, ms: r.ms };
    return judge(observed, [
      [is4xx(r.status), `answered ${r.status}, not 4xx`],
      [r.ms <= limitMs, `answered after ${r.ms} ms, over ${limitMs} ms`],
    ]);
  },
};

export const slowRateWav: Attack = {
  name: "upload-wav-4-hz",
  sent: () => "a 20 KB 8-bit WAV at 4 Hz (5000 s ≈ 1.4 h of audio once resampled)",
  expected: (k) => `refused or capped: answered (not 5xx) within ${k.bombAnswerS} s`,
  async run(ctx) {
    const wav = wavBytes({ rate: 4, bits: 8, channels: 1, data: new Uint8Array(20_000).fill(128) });
    const limitMs = ctx.knobs.bombAnswerS * 1000;
    const r = await upload(ctx.address(1), ctx.port, wav, "slow.wav", limitMs + GRACE_MS);
    const observed = { bytes: wav.length, status: r.status, ms: r.ms };
    return judge(observed, [
      [r.status > 0 && r.status < 500, `answered ${r.status || r.body}`],
      [r.ms <= limitMs, `answered after ${r.ms} ms, over ${limitMs} ms`],
    ]);
  },
};

export const longSilentFlac: Attack = {
  name: "upload-1h-silent-flac",
  sent: () => "1 h of silence as 16 kHz FLAC (sox -n -r 16000 -c 1 x.flac trim 0 3600)",
  expected: (k) => `refused or capped: answered (not 5xx) within ${k.longFileAnswerS} s`,
  async run(ctx) {
    const flac = ctx.media.silentFlacHour;
    const limitMs = ctx.knobs.longFileAnswerS * 1000;
    const r = await upload(ctx.address(1), ctx.port, flac, "silence.flac", limitMs + GRACE_MS);
    const observed = { bytes: flac.length, status: r.status, ms: r.ms };
    return judge(observed, [
      [r.status > 0 && r.status < 500, `answered ${r.status || "nothing in time"}`],
      [r.ms <= limitMs, `answered after ${r.ms} ms, over ${limitMs} ms`],
    ]);
  },
};

export const oddFilenames: Attack = {
  name: "upload-odd-filenames",
  sent: () => 'the clip uploaded as ".", ".." and a 5000-character name',
  expected: () => "no 5xx",
  async run(ctx) {
    const wav = Deno.readFileSync(CLIP);
    const names = [".", "..", "a".repeat(4996) + ".wav"];
    const statuses = await Promise.all(
      names.map(async (name, i) =>
        (await upload(ctx.address(i + 1), ctx.port, wav, name, SPEECH_UPLOAD_MS)).status
      ),
    );
    const observed = { ".": statuses[0], "..": statuses[1], "5000 chars": statuses[2] };
    return judge(observed, [[
      statuses.every((s) => s > 0 && s < 500),
      `answered ${JSON.stringify(observed)}`,
    ]]);
  },
};

/** 30 s of speech as a 16 kHz WAV: the clip ten times. */
function speechWav(): Uint8Array {
  const pcm = clipPcm();
  const data = new Uint8Array(pcm.length * 10);
  for (let i = 0; i < 10; i++) data.set(pcm, i * pcm.length);
  return wavBytes({ rate: 16000, bits: 16, channels: 1, data });
}

/**
 * Legitimate traffic before the baseline is taken: `count` uploads of 30 s of speech at once
 * (MAX_UPLOADS), so the baseline is the server at its admitted load (V8's heap, ONNX Runtime's
 * arena and the allocator sized for it), and what the attacks add on top of that is what is
 * judged. Returns the statuses.
 */
export async function steadyStateUploads(port: number, count: number): Promise<number[]> {
  const wav = speechWav();
  const results = await Promise.all(
    Array.from({ length: count }, () => upload("127.0.0.1", port, wav, "speech.wav", 60_000)),
  );
  return results.map((r) => r.status);
}

export const uploadsAtOnce: Attack = {
  name: "uploads-at-once",
  sent: (k) => `${k.uploadsAtOnce} uploads of 30 s of speech at once, each from its own address`,
  expected: (k) =>
    `at most MAX_UPLOADS = ${k.server.MAX_UPLOADS} transcribed, the excess 503 with Retry-After`,
  async run(ctx) {
    const cap = knob(ctx.knobs, "MAX_UPLOADS");
    const wav = speechWav();
    const results = await Promise.all(
      Array.from(
        { length: ctx.knobs.uploadsAtOnce },
        (_, i) => upload(ctx.address(i + 1), ctx.port, wav, "speech.wav", SPEECH_UPLOAD_MS),
      ),
    );
    const ok = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status === 503);
    const withRetry = refused.filter((r) => r.headers.has("retry-after")).length;
    const other = results.filter((r) => r.status !== 200 && r.status !== 503).map((r) => r.status);
    const observed = {
      transcribed: ok,
      refused503: refused.length,
      withRetryAfter: withRetry,
      other,
    };
    return judge(observed, [
      [ok >= 1 && ok <= cap, `${ok} transcribed, not 1 to ${cap}`],
      [
        refused.length === ctx.knobs.uploadsAtOnce - ok,
        `the excess answered ${JSON.stringify(other)}`,
      ],
      [withRetry === refused.length, `${refused.length - withRetry} 503s without Retry-After`],
    ]);
  },
};
