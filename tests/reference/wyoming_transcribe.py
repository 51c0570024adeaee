"""Talks to the server's Wyoming listener with the `wyoming` package's own client.

    python wyoming_transcribe.py --port PORT WAV...

Sends `describe`, then for each WAV `transcribe`, `audio-start`, chunks of 1024 frames and
`audio-stop`, in the WAV's own rate, width and channels. Prints JSON: {"info": {...}, "results": [{"transcript": text,
"language": ..., "chunks": [text...], "events": [type...]}]}.
"""

import argparse
import asyncio
import json
import wave

from wyoming.asr import Transcribe, Transcript, TranscriptChunk
from wyoming.audio import AudioChunk, AudioStart, AudioStop
from wyoming.client import AsyncTcpClient
from wyoming.error import Error
from wyoming.info import Describe, Info


async def transcribe(client, path, model):
    with wave.open(path, "rb") as wav:
        rate, width, channels = wav.getframerate(), wav.getsampwidth(), wav.getnchannels()
        pcm = wav.readframes(wav.getnframes())
    await client.write_event(Transcribe(name=model, language="en").event())
    await client.write_event(AudioStart(rate=rate, width=width, channels=channels).event())
    step = 1024 * width * channels
    for i in range(0, len(pcm), step):
        chunk = AudioChunk(rate=rate, width=width, channels=channels, audio=pcm[i : i + step])
        await client.write_event(chunk.event())
    await client.write_event(AudioStop().event())
    result = {"events": [], "chunks": [], "transcript": None, "language": None}
    while True:
        event = await client.read_event()
        if event is None:
            result["events"].append("closed")
            break
        result["events"].append(event.type)
        if TranscriptChunk.is_type(event.type):
            result["chunks"].append(TranscriptChunk.from_event(event).text)
        elif Transcript.is_type(event.type):
            transcript = Transcript.from_event(event)
            result["transcript"] = transcript.text
            result["language"] = transcript.language
        elif Error.is_type(event.type):
            result["error"] = Error.from_event(event).text
            break
        elif event.type == "transcript-stop":
            break
    return result


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("wavs", nargs="+")
    args = parser.parse_args()
    async with AsyncTcpClient("127.0.0.1", args.port) as client:
        await client.write_event(Describe().event())
        event = await client.read_event()
        info = Info.from_event(event)
        model = info.asr[0].models[0].name
        results = [await transcribe(client, path, model) for path in args.wavs]
    print(json.dumps({"info": event.data, "program": info.asr[0].name, "results": results}))


if __name__ == "__main__":
    asyncio.run(main())
