import { parseArgs } from "node:util";
import { OrtRuntime } from "../../ffi/mod.ts";
import { LogMelExtractor } from "../audio/log_mel.ts";
import { readAudioFile } from "../audio/read_audio.ts";
import { transcribeEach, type Transcript } from "../stream/offline_transcriber.ts";
import {
  renderTranscript,
  TRANSCRIPT_FORMATS,
  type TranscriptFormat,
} from "../format/transcript_formats.ts";
import { featureSettings } from "../model/model_config.ts";
import { verifyModelLock } from "../model/model_lock.ts";
import { ParakeetModel } from "../model/parakeet_model.ts";
import { describeServedModel } from "../server/served_model.ts";
import { defaultModelDir, deviceOption, positiveInt } from "./common_options.ts";
import { asUsageError, UsageError } from "./usage_error.ts";

const HELP = `Usage: parakeet-server transcribe FILE… [options]

Transcribes audio files offline and prints one line of text per file. Files of any length:
one that is longer than the model's positional table (400 s for Parakeet-TDT-0.6B-v3) is
decoded in windows that fit it. A file that fails is reported on stderr (and as
{"file","error"} with --json); the others still print, and the exit code is 1.

Options:
  --model DIR        model directory (env MODEL; default: the bundled demo model)
  --int8             use the int8 export (*.int8.onnx) of the model
  --json             one JSON object per file: file, text, tokens, token_ids,
                     timestamps (seconds), frames, durations, words, duration_sec
  --format F         text | json | verbose_json | srt | vtt (the renderers of the HTTP
                     route /v1/audio/transcriptions); --json is the detailed form above
  --device D         auto | cuda | cpu (env DEVICE; default auto: CUDA if usable)
  --threads N        ONNX Runtime intra-op threads (env ORT_THREADS; default: ORT's)
  --batch N          files encoded per batch (default 8)
  -h, --help         this help

Audio: WAV (PCM 8/16/24/32-bit, float; any channels, any rate) is read directly;
other formats go through ffmpeg when it is installed.`;

export async function transcribeCommand(args: string[]): Promise<number> {
  const parsed = asUsageError(() =>
    parseArgs({
      args,
      allowPositionals: true,
      options: {
        model: { type: "string" },
        int8: { type: "boolean", default: false },
        json: { type: "boolean", default: false },
        format: { type: "string" },
        device: { type: "string" },
        threads: { type: "string" },
        batch: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
    })
  );
  const { values, positionals } = parsed;
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  if (positionals.length === 0) throw new UsageError("no audio files given");
  const device = deviceOption(values.device ?? Deno.env.get("DEVICE") ?? "auto", "--device");
  const threads = values.threads ?? Deno.env.get("ORT_THREADS");
  const intraOpThreads = threads === undefined ? undefined : positiveInt(threads, "--threads");
  const batchSize = values.batch === undefined ? 8 : positiveInt(values.batch, "--batch");
  const modelDir = values.model ?? Deno.env.get("MODEL") ?? defaultModelDir();
  const format = values.format;
  if (format !== undefined && !TRANSCRIPT_FORMATS.includes(format as TranscriptFormat)) {
    throw new UsageError(
      `--format must be one of ${TRANSCRIPT_FORMATS.join(", ")}, got "${format}"`,
    );
  }

  await verifyModelLock(modelDir);
  // verbose_json names the model as the server would for the same directory.
  const modelName = describeServedModel(modelDir).id;
  using runtime = OrtRuntime.load();
  using model = ParakeetModel.load(runtime, modelDir, {
    precision: values.int8 ? "int8" : "fp32",
    device,
    session: { intraOpThreads },
    onWarning: (m) => console.error(`warning: ${m}`),
  });
  const extractor = new LogMelExtractor(featureSettings(model.config));

  let failures = 0;
  for (let i = 0; i < positionals.length; i += batchSize) {
    const files = positionals.slice(i, i + batchSize);
    const clips: { file: string; samples: Float32Array }[] = [];
    for (const file of files) {
      try {
        const audio = await readAudioFile(file);
        clips.push({ file, samples: audio.samples });
      } catch (err) {
        failures++;
        report(values.json, file, (err as Error).message);
      }
    }
    if (clips.length === 0) continue;
    const { outcomes } = transcribeEach(model, extractor, clips.map((c) => c.samples));
    clips.forEach((c, k) => {
      const outcome = outcomes[k];
      if ("error" in outcome) {
        failures++;
        report(values.json, c.file, `${c.file}: ${outcome.error.message}`);
        return;
      }
      const t = outcome.transcript;
      if (format === undefined) print(values.json, c.file, t);
      else {
        const out = renderTranscript(
          { text: t.text, words: t.words, duration: t.audioSeconds },
          format as TranscriptFormat,
          { model: modelName },
        );
        Deno.stdout.writeSync(
          new TextEncoder().encode(out.body.endsWith("\n") ? out.body : out.body + "\n"),
        );
      }
    });
  }
  return failures > 0 ? 1 : 0;
}

function print(json: boolean, file: string, t: Transcript): void {
  if (!json) {
    console.log(t.text);
    return;
  }
  console.log(JSON.stringify({
    file,
    text: t.text,
    tokens: t.tokens,
    token_ids: t.tokenIds,
    timestamps: t.timestamps,
    frames: t.frames,
    durations: t.durations,
    words: t.words,
    duration_sec: Math.round(t.audioSeconds * 1000) / 1000,
  }));
}

/**
 * A file that cannot be read or decoded is reported and skipped; the others are still
 * transcribed, and the exit code (1) says some failed.
 */
function report(json: boolean, file: string, message: string): void {
  if (json) console.log(JSON.stringify({ file, error: message }));
  console.error(`error: ${message}`);
}
