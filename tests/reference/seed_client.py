"""A client written the way the seed's tests/client.py talks to the server, on the Python
`websockets` library: 20 ms binary PCM16 frames paced at a real-time factor, then the bytes
b"__CTRL__:EOS". Prints one JSON line per server message (with the time since EOS for finals)
and a last line with the close code.

    python seed_client.py --url ws://127.0.0.1:8000/ws --file a.wav [--rtf 1] [--frame-ms 20]
                          [--oversize BYTES] [--token TOKEN]

With --token, the token goes in an `Authorization: Bearer` header. A refused handshake prints
{"type": "refused", "status": N} and exits with status 1.
"""

import argparse
import asyncio
import json
import sys
import time
import wave

import websockets


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--url", required=True)
    parser.add_argument("--file", required=True)
    parser.add_argument("--rtf", type=float, default=1.0)
    parser.add_argument("--frame-ms", type=int, default=20)
    parser.add_argument("--oversize", type=int, default=0, help="send one frame of this many bytes first")
    parser.add_argument("--token", default=None, help="sent as Authorization: Bearer TOKEN")
    args = parser.parse_args()
    headers = {"Authorization": f"Bearer {args.token}"} if args.token is not None else None

    with wave.open(args.file, "rb") as w:
        assert w.getframerate() == 16000 and w.getnchannels() == 1 and w.getsampwidth() == 2
        pcm = w.readframes(w.getnframes())
    frame = 32 * args.frame_ms
    eos_at = None
    failed = asyncio.Event()

    try:
        ws = await websockets.connect(args.url, max_size=None, additional_headers=headers)
    except websockets.InvalidStatus as refused:
        print(json.dumps({"type": "refused", "status": refused.response.status_code}), flush=True)
        sys.exit(1)

    async with ws:
        async def receive() -> None:
            try:
                async for message in ws:
                    event = json.loads(message)
                    event["after_eos_s"] = None if eos_at is None else round(time.monotonic() - eos_at, 4)
                    print(json.dumps(event), flush=True)
                    if event["type"] == "error":
                        failed.set()  # a well-behaved client stops sending on an error
                    if event["type"] == "final":
                        await ws.close()
            except websockets.ConnectionClosed:
                pass

        reader = asyncio.create_task(receive())
        try:
            if args.oversize:
                await ws.send(b"\0" * args.oversize)
            start = time.monotonic()
            for i in range(0, len(pcm), frame):
                if failed.is_set():
                    break
                await ws.send(pcm[i:i + frame])
                due = start + (i + frame) / 32000 / args.rtf
                await asyncio.sleep(max(0.0, due - time.monotonic()))
            if not failed.is_set():
                eos_at = time.monotonic()
                await ws.send(b"__CTRL__:EOS")
        except websockets.ConnectionClosed:
            pass
        await reader
    print(json.dumps({"type": "closed", "code": ws.close_code}), flush=True)


asyncio.run(main())
