"""Transcribes a file through the server with the official `openai` Python client.

    python openai_transcribe.py --base-url http://127.0.0.1:PORT/v1 FILE [--format json|verbose_json|text|srt|vtt]
        [--model NAME] [--language CODE] [--api-key KEY]
    python openai_transcribe.py --base-url http://127.0.0.1:PORT/v1 --list-models [--api-key KEY]

Prints JSON: {"text": …} for json/text, the verbose object for verbose_json, and for srt/vtt
the cues as parsed by the `srt` and `webvtt-py` packages (so a malformed file fails here).
--list-models prints `client.models.list()` and `client.models.retrieve()` of each listed id.
A request the server refuses prints {"error": {"status", "code", "param", "message"}}.
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
    parser.add_argument("--model", default="parakeet-tdt-0.6b-v3")
    parser.add_argument("--language")
    parser.add_argument("--api-key", default="not-needed")
    parser.add_argument("--list-models", action="store_true")
    parser.add_argument("file", nargs="?")
    args = parser.parse_args()
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
    if args.list_models:
        listed = [m.model_dump() for m in client.models.list()]
        retrieved = [client.models.retrieve(m["id"]).model_dump() for m in listed]
        print(json.dumps({"data": listed, "retrieved": retrieved}))
        return
    with open(args.file, "rb") as f:
        kwargs = {"timestamp_granularities": ["word", "segment"]} if args.format == "verbose_json" else {}
        if args.language is not None:
            kwargs["language"] = args.language
        try:
            result = client.audio.transcriptions.create(
                model=args.model, file=f, response_format=args.format, **kwargs
            )
        except openai.APIStatusError as err:
            print(json.dumps({"error": {"status": err.status_code, "code": err.code,
                                        "param": err.param, "message": err.message}}))
            return
    if args.format == "verbose_json":
        # The raw fields the typed object may not declare (model), beside what it parsed.
        print(json.dumps({**result.model_dump(), "model": getattr(result, "model", None)}))
        return
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
