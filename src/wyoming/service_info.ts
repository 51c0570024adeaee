/**
 * The `info` answer to `describe` (wyoming/info.py 1.10.2: Info.asr → AsrProgram → AsrModel).
 * Every field the package's dataclasses require is present; it skips fields it does not know.
 */

export interface ServedModel {
  /** The model's name as clients select it (`transcribe.name`). */
  name: string;
  /** Languages announced for it (BCP 47 tags such as "en"). */
  languages: readonly string[];
  /** This server's version, announced for the program. */
  version: string;
}

const PROGRAM_NAME = "parakeet-server";
const ATTRIBUTION = {
  name: "NVIDIA NeMo Parakeet-TDT, served by parakeet-server",
  url: "https://huggingface.co/nvidia/parakeet-tdt-0.6b-v3",
};

export function infoData(model: ServedModel): Record<string, unknown> {
  return {
    asr: [{
      name: PROGRAM_NAME,
      description: "Streaming speech-to-text (Parakeet-TDT over ONNX Runtime)",
      attribution: ATTRIBUTION,
      installed: true,
      version: model.version,
      models: [{
        name: model.name,
        description: `Parakeet-TDT model ${model.name}`,
        attribution: ATTRIBUTION,
        installed: true,
        languages: [...model.languages],
        version: null,
      }],
      // transcript-start / transcript-chunk / transcript-stop around every transcript.
      supports_transcript_streaming: true,
      // Each audio-stop ends an utterance: the client (or its VAD) decides where speech ends.
      requires_external_vad: true,
    }],
    tts: [],
    handle: [],
    intent: [],
    wake: [],
    mic: [],
    snd: [],
  };
}
