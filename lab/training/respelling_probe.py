"""How well festival's voices of other languages say English digits from a respelling: each
spelling tried is spoken by each voice of its language, 40 clean digit sequences, and transcribed
by a model that never heard those voices (lab/demo-model/demo_eval.ts, offline). The spellings in
demo_data.RESPELLED_DIGITS were chosen from this table.

    .tools/venv-nemo/bin/python -m lab.training.respelling_probe --model models/demo \\
        --out lab/demo-model/stage-1g/demo-respelling-2026-12-02.json

The listener is imperfect: it errs on unseen speakers of any language (4-6% on festival's English
`ked_diphone`), more on women, so spellings are compared on the same voice, not across voices.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import tempfile
from unittest.mock import patch

from lab.training import demo_data
from lab.training.demo_data import DemoVoice

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

ENGLISH = {w: w for w in demo_data.DIGITS + ["oh"]}
IT_PLAIN = {"zero": "ziro", "oh": "ou", "one": "uan", "two": "tu", "three": "tri", "four": "foor",
            "five": "faiv", "six": "sics", "seven": "seven", "eight": "eit", "nine": "nain"}
IT_STRESSED = IT_PLAIN | {"five": "fàiv", "nine": "nàin", "eight": "èit", "two": "tù", "one": "uàn"}
FI_PLAIN = {"zero": "siirou", "oh": "ou", "one": "uan", "two": "tuu", "three": "trii",
            "four": "fooa", "five": "faiv", "six": "siks", "seven": "seven", "eight": "eit",
            "nine": "nain"}
# Every spelling tried, by language, in the order they were tried.
TRIES = [
    ("it", "english", ENGLISH),
    ("it", "plain", IT_PLAIN),
    ("it", "stressed", IT_STRESSED),
    ("it", "stressed, seven and zero too", IT_STRESSED | {"seven": "sèven", "zero": "zìro"}),
    ("it", "stressed, every digit", IT_STRESSED | {"seven": "sèven", "zero": "zìro", "three": "trì",
                                                   "four": "fòor", "oh": "òu", "six": "sìcs"}),
    ("fi", "english", ENGLISH),
    ("fi", "plain", FI_PLAIN),
    ("fi", "one as van", FI_PLAIN | {"one": "van"}),
    ("fi", "van, foor, ziirou", FI_PLAIN | {"one": "van", "four": "foor", "zero": "ziirou"}),
    ("cs", "english", ENGLISH),
    ("cs", "plain", demo_data.RESPELLED_DIGITS["cs"]),
    ("ca", "english", ENGLISH),
    ("ca", "plain", demo_data.RESPELLED_DIGITS["ca"]),
]


def probe(voice: str, spelling: dict[str, str], model: str, work: str) -> dict:
    lang = demo_data.FOREIGN_FESTIVAL_VOICES[voice]
    rows = []
    aug = demo_data.Augmentation(0.0, 0.2, 0.3, None, None, 0.0)
    # The voice reads this spelling; a tried one may need Latin-1 where the chosen one is ASCII.
    with patch.dict(demo_data.RESPELLED_DIGITS, {lang: spelling}), \
            patch.dict(demo_data.TEXT_ENCODING, {lang: demo_data.TEXT_ENCODING.get(lang, "latin-1")}):
        for i in range(40):
            text = demo_data.label_of(demo_data.digits_text(random.Random(i)))
            path = os.path.join(work, f"{i:03d}.wav")
            audio = demo_data.render(text, DemoVoice("festival", voice, 1.0, 0), aug, path, i)
            rows.append({"audio_filepath": path, "duration": len(audio) / 16000, "text": text,
                         "voice": voice, "family": "festival"})
    manifest = os.path.join(work, "manifest.jsonl")
    with open(manifest, "w") as f:
        f.writelines(json.dumps(r) + "\n" for r in rows)
    result = os.path.join(work, "result.json")
    subprocess.run(["deno", "run", "-A", "lab/demo-model/demo_eval.ts", "--model", model, "--manifest",
                    manifest, "--grid", "none", "--out", result], cwd=ROOT, check=True,
                   stdout=subprocess.DEVNULL)
    with open(result) as f:
        return json.load(f)["offline"]["clips"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/demo")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    table = []
    for lang, name, spelling in TRIES:
        for voice in [v for v, lg in demo_data.FOREIGN_FESTIVAL_VOICES.items() if lg == lang]:
            with tempfile.TemporaryDirectory() as work:
                got = probe(voice, spelling, args.model, work)
            print(f"{lang} {name:30s} {voice:20s} {got['wer']:.3f}", flush=True)
            table.append({"language": lang, "spelling": name, "voice": voice, "wer": got["wer"],
                          "errors": got["errors"], "words": got["words"],
                          "chosen": spelling == demo_data.RESPELLED_DIGITS[lang],
                          "digits": spelling})
    with open(args.out + ".tmp", "w") as f:
        json.dump({"what": "festival's voices of other languages saying English digits, by "
                   "spelling: WER of a model that never heard them, 40 clean sequences per voice",
                   "listener": args.model, "rows": table}, f, indent=1, ensure_ascii=False)
    os.replace(args.out + ".tmp", args.out)


if __name__ == "__main__":
    main()
