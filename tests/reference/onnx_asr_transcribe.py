"""Transcribes WAV files with onnx-asr, the independent reference our decoder must match.

    .tools/venv-check/bin/python tests/reference/onnx_asr_transcribe.py --model DIR [--int8] A.wav …

Prints one JSON object per file: file, text, tokens (pieces, `▁` as a space, as onnx-asr
returns them) and timestamps (seconds: encoder frame × 0.08). Each file is recognised alone,
so batching in onnx-asr cannot colour the reference.
"""

import argparse
import json
import sys

import onnx_asr


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model", required=True)
    parser.add_argument("--int8", action="store_true")
    parser.add_argument("files", nargs="+")
    args = parser.parse_args()
    model = onnx_asr.load_model(
        "nemo-conformer-tdt", args.model, quantization="int8" if args.int8 else None,
        providers=["CPUExecutionProvider"],
    ).with_timestamps()
    for path in args.files:
        result = model.recognize(path)
        print(json.dumps({
            "file": path,
            "text": result.text,
            "tokens": list(result.tokens or []),
            "timestamps": [round(t, 6) for t in (result.timestamps or [])],
        }, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
