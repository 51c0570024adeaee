"""OpenAI's Realtime API (transcription) and streamed transcriptions through the official
`openai` Python client, against this server.

    python openai_realtime.py realtime --base-url http://127.0.0.1:PORT/v1 PCM24_FILE [--chunk-ms 100]
    python openai_realtime.py sse --base-url http://127.0.0.1:PORT/v1 FILE

`realtime`: connects with `client.realtime.connect(extra_query={"intent": "transcription"})`,
sets a transcription session (audio/pcm at 24 kHz, no turn detection), appends the raw PCM16
file in chunks, commits, and reads events until the item's transcription completes.
`sse`: `client.audio.transcriptions.create(..., stream=True)`, then the same file without.
Prints what it saw as JSON.
"""

import argparse
import base64
import json

import openai


def realtime(args: argparse.Namespace) -> dict:
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
    pcm = open(args.file, "rb").read()
    chunk = 48 * args.chunk_ms  # bytes per chunk of 24 kHz PCM16
    events = []
    with client.realtime.connect(extra_query={"intent": "transcription"}) as conn:
        first = conn.recv()
        events.append(first.type)
        conn.session.update(
            session={
                "type": "transcription",
                "audio": {
                    "input": {
                        "format": {"type": "audio/pcm", "rate": 24000},
                        "turn_detection": None,
                        "transcription": {"model": "parakeet-tdt-0.6b-v3"},
                    }
                },
            }
        )
        updated = conn.recv()
        events.append(updated.type)
        for i in range(0, len(pcm), chunk):
            conn.input_audio_buffer.append(audio=base64.b64encode(pcm[i : i + chunk]).decode())
        conn.input_audio_buffer.commit()
        committed = None
        deltas = []
        completed = None
        errors = []
        for event in conn:
            events.append(event.type)
            if event.type == "input_audio_buffer.committed":
                committed = event.item_id
            elif event.type == "conversation.item.input_audio_transcription.delta":
                deltas.append({"item_id": event.item_id, "delta": event.delta})
            elif event.type == "conversation.item.input_audio_transcription.completed":
                completed = {"item_id": event.item_id, "transcript": event.transcript}
                break
            elif event.type == "error":
                errors.append(event.error.model_dump())
                break
    return {
        "events": events,
        "session": updated.session.model_dump() if hasattr(updated, "session") else None,
        "committed": committed,
        "deltas": deltas,
        "completed": completed,
        "errors": errors,
    }


def sse(args: argparse.Namespace) -> dict:
    client = openai.OpenAI(base_url=args.base_url, api_key=args.api_key)
    events = []
    with open(args.file, "rb") as f:
        stream = client.audio.transcriptions.create(model="parakeet-tdt-0.6b-v3", file=f, stream=True)
        for event in stream:
            events.append(event.model_dump(exclude_none=True))
    with open(args.file, "rb") as f:
        whole = client.audio.transcriptions.create(model="parakeet-tdt-0.6b-v3", file=f)
    return {"events": events, "text": whole.text}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["realtime", "sse"])
    parser.add_argument("--base-url", required=True)
    parser.add_argument("--api-key", default="not-needed")
    parser.add_argument("--chunk-ms", type=int, default=100)
    parser.add_argument("file")
    args = parser.parse_args()
    print(json.dumps(realtime(args) if args.mode == "realtime" else sse(args)))


main()
