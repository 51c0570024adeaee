import type { WordTiming } from "../decode/words.ts";

/** What every output format is rendered from. */
export interface TimedTranscript {
  text: string;
  words: WordTiming[];
  /** Seconds of audio. */
  duration: number;
}

export type TranscriptFormat = "text" | "json" | "verbose_json" | "srt" | "vtt";
export const TRANSCRIPT_FORMATS: readonly TranscriptFormat[] = [
  "text",
  "json",
  "verbose_json",
  "srt",
  "vtt",
];

export interface Segment {
  id: number;
  start: number;
  end: number;
  text: string;
  words: WordTiming[];
}

/** Cues no longer than this, split at the longest pause inside them, as subtitle tools expect. */
const MAX_SEGMENT_SECONDS = 6;
const MAX_SEGMENT_CHARS = 84;
/** A pause at least this long always starts a new segment. */
const SEGMENT_PAUSE_SECONDS = 0.8;

/** Groups words into subtitle-sized segments: at long pauses, or before one grows too long. */
export function segmentWords(words: readonly WordTiming[]): Segment[] {
  const segments: Segment[] = [];
  let current: WordTiming[] = [];
  const flush = () => {
    if (current.length === 0) return;
    segments.push({
      id: segments.length,
      start: current[0].start,
      end: current[current.length - 1].end,
      text: current.map((w) => w.word).join(" "),
      words: current,
    });
    current = [];
  };
  for (const w of words) {
    if (current.length > 0) {
      const first = current[0];
      const last = current[current.length - 1];
      const chars = current.reduce((n, x) => n + x.word.length + 1, 0) + w.word.length;
      if (
        w.start - last.end >= SEGMENT_PAUSE_SECONDS ||
        w.end - first.start > MAX_SEGMENT_SECONDS ||
        chars > MAX_SEGMENT_CHARS
      ) flush();
    }
    current.push(w);
  }
  flush();
  return segments;
}

function clock(seconds: number, separator: "," | "."): string {
  const ms = Math.max(0, Math.round(seconds * 1000));
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const s = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, "0");
  return `${pad(h)}:${pad(m)}:${pad(s)}${separator}${pad(ms % 1000, 3)}`;
}

/** A cue must last a little, or players skip it. */
function cueEnd(s: Segment): number {
  return Math.max(s.end, s.start + 0.001);
}

export function renderSrt(t: TimedTranscript): string {
  return segmentWords(t.words)
    .map((s, i) => `${i + 1}\n${clock(s.start, ",")} --> ${clock(cueEnd(s), ",")}\n${s.text}\n`)
    .join("\n");
}

export function renderVtt(t: TimedTranscript): string {
  const cues = segmentWords(t.words).map((s) =>
    `${clock(s.start, ".")} --> ${clock(cueEnd(s), ".")}\n${s.text}\n`
  );
  return ["WEBVTT\n", ...cues].join("\n");
}

/** What a transcript says about how it was made. */
export interface TranscriptSource {
  /** The name of the model that transcribed it. */
  model: string;
  /**
   * The language the request named, or null. Parakeet detects the language itself and reports
   * none, so this is only ever what was asked for, never a detection.
   */
  language?: string | null;
}

/** OpenAI's `verbose_json` shape, with the fields our decoder can honestly fill. */
export function verboseJson(t: TimedTranscript, opts: TranscriptSource & { words: boolean }) {
  return {
    task: "transcribe",
    language: opts.language ?? null,
    duration: Math.round(t.duration * 1000) / 1000,
    text: t.text,
    model: opts.model,
    segments: segmentWords(t.words).map((s) => ({
      id: s.id,
      seek: 0,
      start: s.start,
      end: s.end,
      text: s.text,
      tokens: [],
      temperature: 0,
      avg_logprob: 0,
      compression_ratio: 0,
      no_speech_prob: 0,
    })),
    ...(opts.words ? { words: t.words } : {}),
  };
}

/** The body and content type of a transcript in `format`. */
export function renderTranscript(
  t: TimedTranscript,
  format: TranscriptFormat,
  opts: TranscriptSource & { words?: boolean },
): { body: string; contentType: string } {
  switch (format) {
    case "text":
      return { body: t.text + "\n", contentType: "text/plain; charset=utf-8" };
    case "json":
      return { body: JSON.stringify({ text: t.text }), contentType: "application/json" };
    case "verbose_json":
      return {
        body: JSON.stringify(verboseJson(t, { ...opts, words: opts.words ?? true })),
        contentType: "application/json",
      };
    case "srt":
      return { body: renderSrt(t), contentType: "application/x-subrip; charset=utf-8" };
    case "vtt":
      return { body: renderVtt(t), contentType: "text/vtt; charset=utf-8" };
  }
}
