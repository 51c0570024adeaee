"""Transcribes a file through the server with the official `openai` Python client.

    python openai_transcribe.py --base-url http://127.0.0.1:PORT/v1 FILE [--format json|verbose_json|text|srt|vtt]

Prints JSON: {"text": …} for json/text, the verbose object for verbose_json, and for srt/vtt
the cues as parsed by the `srt` and `webvtt-py` packages (so a malformed file fails here).
"""

import argparse
import io
import json

import openai
import srt
import webvtt


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--format", default="json")
    parser.add_argument("file")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key="not-needed")
    with open(args.file, "rb") as f:
        kwargs = {"timestamp_granularities": ["word", "segment"]} if args.format == "verbose_json" else {}
        result = client.audio.transcriptions.create(
            model="parakeet-tdt-0.6b-v3", file=f, response_format=args.format, **kwargs
        )
    if args.format in ("json", "verbose_json"):
        print(json.dumps(result.model_dump() if hasattr(result, "model_dump") else result))
    elif args.format == "text":
        print(json.dumps({"text": str(result).strip()}))
    elif args.format == "srt":
        cues = list(srt.parse(str(result), ignore_errors=False))
        print(json.dumps([{"start": c.start.total_seconds(), "end": c.end.total_seconds(), "text": c.content} for c in cues]))
    elif args.format == "vtt":
        cues = webvtt.from_buffer(io.StringIO(str(result)))
        print(json.dumps([{"start": c.start_in_seconds, "end": c.end_in_seconds, "text": c.text} for c in cues]))


main()
