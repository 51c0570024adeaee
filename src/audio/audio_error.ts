/** Why an audio file could not be read; stable strings for callers and tests. */
export type AudioErrorCode =
  | "empty-file"
  | "truncated-header"
  | "not-wav"
  | "missing-fmt"
  | "missing-data"
  | "bad-fmt"
  | "unsupported-codec"
  | "no-channels"
  | "no-sample-rate"
  | "no-samples"
  | "non-finite-sample"
  | "unsupported-format"
  | "decoder-failed"
  | "unsupported-sample-rate"
  | "too-long"
  | "decode-timeout"
  | "decode-out-of-memory";

/**
 * A file that is not readable audio. The message names the file, what was wrong and what was
 * expected: `Cannot read audio file "x.wav": <problem>; expected <what>`.
 */
export class AudioFileError extends Error {
  readonly file: string;
  readonly code: AudioErrorCode;
  /** The problem alone, without the file name and expectation. */
  readonly problem: string;

  constructor(file: string, code: AudioErrorCode, problem: string, expected?: string) {
    super(
      `Cannot read audio file "${file}": ${problem}${expected ? `; expected ${expected}` : ""}`,
    );
    this.name = "AudioFileError";
    this.file = file;
    this.code = code;
    this.problem = problem;
  }
}
