"""Synthetic English speech with espeak-ng and flite, written as 16 kHz mono PCM16 WAV.

Shared by the training-data generator (build_model.py) and the fixture generator
(tests/fixtures/make_references.py). Needs the `espeak-ng`, `flite` and `sox` programs
(Debian: apt-get install espeak-ng flite sox).
"""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import time
from dataclasses import dataclass
from multiprocessing import Pool

# Base espeak-ng English voices and voice variants used for TRAINING. The fixtures use voices
# outside these lists (HELDOUT_*), so the test clips are speakers the model never heard.
TRAIN_ESPEAK_VOICES = ["en-us", "en-gb", "en-gb-scotland", "en-gb-x-rp", "en-029",
                       "en-gb-x-gbclan", "en-us-nyc"]
TRAIN_ESPEAK_VARIANTS = [
    "", "Adam", "Alex", "Alicia", "Andrea", "Andy", "Antonio", "aunty", "belinda", "benjamin",
    "boris", "caleb", "david", "Denis", "Diogo", "ed", "edward", "edward2", "Gene", "Gene2",
    "gustave", "Henrique", "Hugo", "iven", "iven2", "iven3", "iven4", "Jacky", "john",
    "kaukovalta", "Lee", "linda", "marcelo", "Marco", "Mario", "max", "michel", "miguel", "Mike",
    "Mr", "Nguyen", "pablo", "paul", "pedro", "quincy", "rob", "robert", "steph", "steph2",
    "steph3", "Storm", "zac", "anika", "AnxiousAndy", "f1", "f4", "klatt", "klatt2", "klatt4",
    "klatt5", "klatt6", "m1", "m2", "m4", "m5", "m6", "m7", "m8", "norbert", "sandro", "shelby",
    "travis", "victor", "grandma", "grandpa",
]
TRAIN_FLITE_VOICES = ["kal16", "awb", "rms", "kal"]

HELDOUT_ESPEAK_VOICES = ["en-gb-x-gbcwmd"]
HELDOUT_ESPEAK_VARIANTS = ["f2", "f3", "m3", "Annie", "Michael", "klatt3", "f5"]
HELDOUT_FLITE_VOICES = ["slt"]


@dataclass(frozen=True)
class Voice:
    engine: str  # "espeak" or "flite"
    name: str  # espeak voice (with "+variant") or flite voice
    speed: int = 170  # espeak words per minute; flite: duration stretch = 170 / speed
    pitch: int = 50  # espeak 0..99; ignored by flite

    def label(self) -> str:
        return f"{self.engine}:{self.name}:s{self.speed}:p{self.pitch}"


def synthesize(text: str, voice: Voice, out_wav: str, *, pad_start: float = 0.15,
               pad_end: float = 0.25, gain_db: float = 0.0) -> None:
    """Speak `text` into `out_wav` (16 kHz, mono, signed 16-bit) with silence around it."""
    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        if voice.engine == "espeak":
            cmd = ["espeak-ng", "-v", voice.name, "-s", str(voice.speed), "-p", str(voice.pitch),
                   "-w", raw, text]
        elif voice.engine == "flite":
            stretch = 170.0 / float(voice.speed)
            cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={stretch:.3f}",
                   "-t", text, "-o", raw]
        else:
            raise ValueError(f"unknown engine {voice.engine!r}")
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        sox = ["sox", "-q", "-D", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", "-e", "signed-integer",
               out_wav]
        # `norm` first so every voice lands at the same level, then the requested gain.
        sox += ["norm", f"{-3.0 + gain_db:.2f}", "pad", f"{pad_start:.3f}", f"{pad_end:.3f}"]
        subprocess.run(sox, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def write_corpus(out_dir: str, jobs: list, worker, procs: int = 2, chunksize: int = 16,
                 log=print) -> str:
    """Runs `worker` over `jobs` in `procs` processes (each job makes one clip and returns its
    manifest row, with "duration") and writes `out_dir/manifest.jsonl` atomically. A manifest
    that already has one row per job is reused as it is."""
    manifest = os.path.join(out_dir, "manifest.jsonl")
    if os.path.exists(manifest):
        with open(manifest) as f:
            if sum(1 for _ in f) == len(jobs):
                return manifest
    os.makedirs(out_dir, exist_ok=True)
    t0 = time.time()
    with Pool(procs) as pool:
        rows = pool.map(worker, jobs, chunksize=chunksize)
    with open(manifest + ".tmp", "w") as f:
        for row in rows:
            f.write(json.dumps(row) + "\n")
    os.replace(manifest + ".tmp", manifest)
    hours = sum(r["duration"] for r in rows) / 3600
    log(f"synthesised {len(rows)} clips ({hours:.2f} h) in {time.time() - t0:.0f} s -> {out_dir}")
    return manifest
