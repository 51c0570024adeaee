"""Training and evaluation speech for the demo model: texts per stage, voices from every English
synthesiser Debian ships (espeak-ng with its variants, flite, festival), and augmentation
(speed, pitch, gain, white/pink noise, room-like reverberation).

Voices are split by name: the held-out voices below never appear in training. Festival is the
family the model sees little of (one diphone voice, 8% of stage 1's training clips, 18% of
stage 2's); its other two English voices and flite's `slt` are held out, with unseen espeak-ng
variants. Flite's and festival's training voices are all men; from stage 1d they also speak at
intonation targets of their own, up to a woman's pitch (DemoVoice.f0).

From stage 1g festival also speaks with eight voices of other languages, reading the digits
respelled in their own orthography (FOREIGN_FESTIVAL_VOICES).

Needs the programs espeak-ng, flite, text2wave (festival + festvox-kallpc16k, festvox-kdlpc16k,
festvox-us-slt-hts; from stage 1g the packages FOREIGN_FESTIVAL_VOICES names) and sox.
"""

from __future__ import annotations

import math
import os
import random
import subprocess
import tempfile
from dataclasses import dataclass, replace

import numpy as np

from models.synth import (HELDOUT_ESPEAK_VARIANTS, HELDOUT_ESPEAK_VOICES, HELDOUT_FLITE_VOICES,
                   TRAIN_ESPEAK_VARIANTS, TRAIN_ESPEAK_VOICES, TRAIN_FLITE_VOICES, write_corpus)

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]

TRAIN_FESTIVAL_VOICES = ["kal_diphone"]
HELDOUT_FESTIVAL_VOICES = ["ked_diphone", "cmu_us_slt_arctic_hts"]

# Festival's voices for other languages, each with the language its letter-to-sound rules read.
# Debian has no other English festival voice, and after stage 1e the model's errors were on the
# unseen English speakers of the families it heard one or two men of: these eight (four women and a
# boy among them) say the digits respelled in their own orthography (RESPELLED_DIGITS), so that
# their rules give near-English sounds from new throats. Festival packages festvox-italp16k,
# -itapc16k, -suopuhe-lj, -suopuhe-mv, -czech-dita, -czech-krb, -czech-ph, -ca-ona-hts.
FOREIGN_FESTIVAL_VOICES = {"lp_diphone": "it", "pc_diphone": "it", "suo_fi_lj_diphone": "fi",
                           "hy_fi_mv_diphone": "fi", "czech_dita": "cs", "czech_krb": "cs",
                           "czech_ph": "cs", "upc_ca_ona_hts": "ca"}
# Each digit as a reader of the language would write what an English speaker says, with the
# Italian stress marks that keep "five" from sounding like "three". Chosen with the stage 1e model
# as the listener, on 40 clean sequences (231 digits) per voice, among two to four spellings per
# language, by its WER on the male voices (it errs more on women, whom the families it learned
# from lacked): pc_diphone 19% -> 5%, hy_fi_mv_diphone 19% -> 7%
# (lab/demo-model/stage-1g/demo-respelling-2026-12-02.json). With the English spellings it hears 60-74% of the words wrong:
# letter-to-sound rules make "nine" two syllables.
RESPELLED_DIGITS = {
    "it": {"zero": "zìro", "oh": "ou", "one": "uàn", "two": "tù", "three": "tri", "four": "foor",
           "five": "fàiv", "six": "sics", "seven": "sèven", "eight": "èit", "nine": "nàin"},
    "fi": {"zero": "ziirou", "oh": "ou", "one": "van", "two": "tuu", "three": "trii",
           "four": "foor", "five": "faiv", "six": "siks", "seven": "seven", "eight": "eit",
           "nine": "nain"},
    "cs": {"zero": "zírou", "oh": "ou", "one": "uan", "two": "tú", "three": "trí",
           "four": "fór", "five": "fajv", "six": "siks", "seven": "sevn", "eight": "ejt",
           "nine": "najn"},
    "ca": {"zero": "ziro", "oh": "ou", "one": "uan", "two": "tu", "three": "tri", "four": "for",
           "five": "faiv", "six": "sics", "seven": "seven", "eight": "eit", "nine": "nain"},
}
# Festival's Catalan voice ignores both the HTS engine's rate (-r moves only its leading silence)
# and Duration_Stretch: sox changes its tempo instead.
RATE_BY_SOX_TEMPO = {"upc_ca_ona_hts"}
# Festival's Czech voices read ISO-8859-2, its Italian ones ISO-8859-1; the others' respellings
# are ASCII.
TEXT_ENCODING = {"cs": "iso-8859-2", "it": "latin-1"}
# The festival voices a stage trains on: from stage 1g, the foreign ones too.
TRAIN_FESTIVAL_VOICES_OF = {"1g": TRAIN_FESTIVAL_VOICES + list(FOREIGN_FESTIVAL_VOICES)}


# ----------------------------------------------------------------------------- texts

def digits_text(rng: random.Random) -> str:
    """Stage 1: one to eight of zero..nine, with "oh" for zero now and then; three clips in ten
    are longer, two to four such groups with a pause (a comma) between them, as a phone number
    or a card number is read out, so the model also sees longer utterances (up to about 11 s)."""
    def group(n: int) -> str:
        return " ".join(rng.choice(DIGITS) if rng.random() > 0.07 else "oh" for _ in range(n))

    if rng.random() < 0.3:
        return ", ".join(group(rng.randint(2, 5)) for _ in range(rng.randint(2, 4)))
    return group(rng.choice([1, 1, 2, 2, 3, 3, 4, 4, 5, 6, 7, 8]))


def label_of(spoken: str) -> str:
    """The transcript the model learns: the words, without the punctuation that shapes speech."""
    return " ".join(spoken.replace(",", " ").split())


ONES = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
TEENS = ["ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen", "seventeen",
         "eighteen", "nineteen"]
TENS = ["", "", "twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
LETTERS = list("abcdefghijklmnopqrstuvwxyz")
# Common English words (function words, everyday nouns, verbs, adjectives): the stage-2 vocabulary.
COMMON_WORDS = """
the a an and or but if then so of to in on at by for with from up down out over under about
into after before again all any each few more most some such no not only own same than too
very can will just should now i you he she it we they me him her us them my your his its our
their this that these those what which who when where why how here there is are was were be
been being have has had do does did say says said go goes went get got make made know knew
think thought take took see saw come came want look use find give tell work call try ask need
feel become leave put mean keep let begin seem help talk turn start show hear play run move
like live believe hold bring happen write sit stand lose pay meet include continue set learn
change lead understand watch follow stop create speak read spend grow open walk win offer
remember love consider appear buy wait serve die send expect build stay fall cut reach kill
remain time year people way day man thing woman life child world school state family student
group country problem hand part place case week company system program question number night
point home water room mother area money story fact month lot right study book eye job word
business issue side kind head house service friend father power hour game line end member law
car city name team minute idea kid body back parent face others level office door health
person art war history party result morning reason research girl guy moment air teacher force
education good new first last long great little other old big high different small large next
early young important public bad able red blue green black white yellow today tomorrow
yesterday please thank yes hello goodbye morning evening left right north south east west
""".split()


def _below_hundred(n: int) -> str:
    if n < 10:
        return ONES[n]
    if n < 20:
        return TEENS[n - 10]
    return TENS[n // 10] + ("" if n % 10 == 0 else " " + ONES[n % 10])


def number_words(n: int, rng: random.Random) -> str:
    """An integer as people say it: "one hundred and twenty three", "three thousand four
    hundred", a year as "nineteen eighty four"."""
    if n < 100:
        return _below_hundred(n)
    if 1100 <= n <= 2099 and n % 100 != 0 and rng.random() < 0.6:  # a year
        hi, lo = divmod(n, 100)
        return _below_hundred(hi) + " " + (("oh " + ONES[lo]) if lo < 10 else _below_hundred(lo))
    parts = []
    if n >= 1000:
        parts.append(_below_hundred(n // 1000) + " thousand")
        n %= 1000
    if n >= 100:
        parts.append(ONES[n // 100] + " hundred")
        n %= 100
    if n:
        parts.append(("and " if rng.random() < 0.6 else "") + _below_hundred(n))
    return " ".join(parts)


def numbers_and_words_text(rng: random.Random) -> str:
    """Stage 2: digits, numbers as people say them, spelled letters and short sentences of
    common words, alone or mixed."""
    r = rng.random()
    if r < 0.2:
        return digits_text(rng)
    if r < 0.45:
        n = rng.choice([rng.randint(0, 99), rng.randint(100, 999), rng.randint(1000, 9999),
                        rng.randint(1900, 2030)])
        return number_words(n, rng)
    if r < 0.55:
        return " ".join(rng.choice(LETTERS) for _ in range(rng.randint(1, 6)))
    words = [rng.choice(COMMON_WORDS) for _ in range(rng.randint(2, 8))]
    if rng.random() < 0.3:
        words.insert(rng.randint(0, len(words)), number_words(rng.randint(0, 999), rng))
    return " ".join(words)


# "1b" is stage 1 fine-tuned: the same digits, heard from other voices (TRAIN_FAMILY_SHARES).
# "1c" continues "1b" on stage 1's and stage 1b's training clips together; it makes no clips of its
# own but its held-out sets, which are stage 1's.
# "1d" continues "1c" on all of those and clips of its own whose flite and festival training voices
# speak at an intonation target of their own (DemoVoice.f0).
# "1g" continues "1e" on all of those and clips of its own where festival also speaks with the
# voices of other languages (FOREIGN_FESTIVAL_VOICES).
STAGE_TEXTS = {1: digits_text, "1b": digits_text, "1c": digits_text, "1d": digits_text,
               "1g": digits_text, 2: numbers_and_words_text}


# ----------------------------------------------------------------------------- voices

@dataclass(frozen=True)
class DemoVoice:
    family: str  # "espeak", "flite" or "festival"
    name: str
    rate: float  # speaking rate factor: 1.0 is the voice's own speed
    pitch: int  # espeak's 0..99; for flite and festival a sox pitch shift in cents
    # flite and festival: the intonation model's mean target in Hz (its spread 15% of it); 0 keeps
    # the voice's own. Their LPC and diphone synthesis keeps the speaker's formants, so with a small
    # sox shift on top a male voice speaks at a female speaker's pitch without a child's formants.
    f0: int = 0

    def label(self) -> str:
        f0 = f":f{self.f0}" if self.f0 else ""
        return f"{self.family}:{self.name}:r{self.rate:.2f}:p{self.pitch}{f0}"


# Training share of each family per stage: (espeak-ng, flite); festival takes the rest. Stage 1
# saw flite and festival little (15%, 8%) and was 8-13 points worse on their held-out voices than
# on espeak-ng's, so stage 1b and stage 2 hear them more.
TRAIN_FAMILY_SHARES = {1: (0.77, 0.15), "1b": (0.45, 0.30), "1c": (0.45, 0.30), "1d": (0.40, 0.30),
                       "1g": (0.30, 0.25), 2: (0.55, 0.27)}
# sox pitch shift (cents) of the flite and festival training voices. Their training voices are all
# male, and stage 1's errors were on a female speaker (`slt`, held out in both families): stage 1b
# shifts them further up, formants with them.
TRAIN_PITCH_CENTS = {1: (-300, 300), "1b": (-300, 700), "1c": (-300, 700), "1d": (-200, 400),
                     "1g": (-300, 400), 2: (-300, 300)}
# Stage 1d: the share of flite and festival training clips spoken at an intonation target of their
# own (DemoVoice.f0), and its range in Hz. Stage 1c's errors were nearly all on `slt` (a woman,
# about 180 Hz), held out in both families, whose training voices are all men (about 100-120 Hz).
TRAIN_F0 = {"1d": (0.6, (85, 250)), "1g": (0.6, (85, 250))}
# The training voices whose intonation target can be set: flite's `rms` ignores it.
F0_VOICES = {"kal", "kal16", "awb", "kal_diphone"}
# Festival's speaking rate: stages before 1d asked for it in a second expression of text2wave's
# -eval, which text2wave ignores, so their festival clips are at the voice's own rate. Kept for
# them so that their corpora are made again as they were heard.
FESTIVAL_OWN_RATE = {1, "1b", "1c", 2}


def random_voice(rng: random.Random, heldout: bool, stage: int | str = 1) -> DemoVoice:
    espeak_share, flite_share = TRAIN_FAMILY_SHARES[stage]
    low, high = TRAIN_PITCH_CENTS[stage]
    r = rng.random()
    rate = rng.uniform(0.75, 1.35)
    festival_rate = 1.0 if stage in FESTIVAL_OWN_RATE else rate
    if heldout:
        if r < 0.5:
            name = f"{rng.choice(HELDOUT_ESPEAK_VOICES + ['en-us', 'en-gb'])}+" \
                   f"{rng.choice(HELDOUT_ESPEAK_VARIANTS)}"
            return DemoVoice("espeak", name, rate, rng.randint(20, 80))
        if r < 0.7:
            return DemoVoice("flite", rng.choice(HELDOUT_FLITE_VOICES), rate, rng.randint(-250, 250))
        return DemoVoice("festival", rng.choice(HELDOUT_FESTIVAL_VOICES), festival_rate,
                         rng.randint(-250, 250))
    if r < espeak_share:
        variant = rng.choice(TRAIN_ESPEAK_VARIANTS)
        name = rng.choice(TRAIN_ESPEAK_VOICES) + (f"+{variant}" if variant else "")
        return DemoVoice("espeak", name, rate, rng.randint(20, 80))
    if r < espeak_share + flite_share:
        voice = DemoVoice("flite", rng.choice(TRAIN_FLITE_VOICES), rate, rng.randint(low, high))
    else:
        voice = DemoVoice("festival", rng.choice(TRAIN_FESTIVAL_VOICES_OF.get(stage,
                                                                           TRAIN_FESTIVAL_VOICES)),
                          festival_rate, rng.randint(low, high))
    if stage in TRAIN_F0 and voice.name in F0_VOICES:
        share, (f0_low, f0_high) = TRAIN_F0[stage]
        if rng.random() < share:
            voice = replace(voice, f0=rng.randint(f0_low, f0_high))
    return voice


def f0_spread(voice: DemoVoice) -> int:
    """The intonation target's standard deviation in Hz: 15% of its mean."""
    return round(voice.f0 * 0.15)


def festival_scheme(voice: DemoVoice) -> str:
    """The Scheme text2wave evaluates before speaking: one expression, as it reads only the first."""
    forms = [f"(voice_{voice.name})"]
    if voice.rate == 1.0 or voice.name in RATE_BY_SOX_TEMPO:
        pass
    elif voice.name.endswith("_hts"):  # HTS voices take their rate from the engine's -r
        forms.append(f'(set! hts_engine_params (append hts_engine_params (list (list "-r" '
                     f'{voice.rate:.3f}))))')
    else:
        forms.append(f"(Parameter.set 'Duration_Stretch {1 / voice.rate:.3f})")
    if voice.f0:
        forms.append(f"(set! int_lr_params '((target_f0_mean {voice.f0}) (target_f0_std "
                     f"{f0_spread(voice)}) (model_f0_mean 170) (model_f0_std 34)))")
    return f"(begin {' '.join(forms)})"


def festival_text(text: str, voice_name: str) -> bytes:
    """What festival's voice is given to read: the text itself, or for a voice of another language
    each digit respelled (RESPELLED_DIGITS), the pauses kept, in the voice's own encoding."""
    lang = FOREIGN_FESTIVAL_VOICES.get(voice_name)
    if lang is None:
        return text.encode()
    spelled = RESPELLED_DIGITS[lang]
    words = []
    for word in text.split():
        digit = word.rstrip(",")
        if digit not in spelled:
            raise ValueError(f"festival's {voice_name} reads digits only, not {word!r}")
        words.append(spelled[digit] + word[len(digit):])
    return " ".join(words).encode(TEXT_ENCODING.get(lang, "ascii"))


def speak(text: str, voice: DemoVoice, out_wav: str) -> None:
    """The synthesiser's raw output (any rate) in `out_wav`."""
    if voice.family == "espeak":
        cmd = ["espeak-ng", "-v", voice.name, "-s", str(round(170 * voice.rate)), "-p",
               str(voice.pitch), "-w", out_wav, text]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif voice.family == "flite":
        f0 = ["--setf", f"int_f0_target_mean={voice.f0}", "--setf",
              f"int_f0_target_stddev={f0_spread(voice)}"] if voice.f0 else []
        cmd = ["flite", "-voice", voice.name, "--setf", f"duration_stretch={1 / voice.rate:.3f}", *f0,
               "-t", text, "-o", out_wav]
        subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    elif voice.family == "festival":
        subprocess.run(["text2wave", "-eval", festival_scheme(voice), "-o", out_wav],
                       input=festival_text(text, voice.name),
                       check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    else:
        raise ValueError(f"unknown synthesiser family {voice.family!r}")


@dataclass(frozen=True)
class Augmentation:
    gain_db: float
    pad_start: float
    pad_end: float
    reverb: tuple[int, int, int] | None  # sox reverb: reverberance, HF damping, room scale (%)
    noise: str | None  # "white" or "pink"
    snr_db: float

    def label(self) -> str:
        parts = [f"g{self.gain_db:+.0f}"]
        if self.reverb:
            parts.append("rev%d/%d/%d" % self.reverb)
        if self.noise:
            parts.append(f"{self.noise}{self.snr_db:.0f}dB")
        return ",".join(parts)


def random_augmentation(rng: random.Random, clean: bool = False) -> Augmentation:
    reverb = None
    if not clean and rng.random() < 0.3:
        reverb = (rng.randint(10, 60), rng.randint(20, 80), rng.randint(10, 70))
    noise = None if clean or rng.random() < 0.5 else rng.choice(["white", "pink"])
    return Augmentation(gain_db=rng.uniform(-12, 2), pad_start=rng.uniform(0.05, 0.6),
                        pad_end=rng.uniform(0.1, 0.6), reverb=reverb, noise=noise,
                        snr_db=rng.uniform(12, 40))


def render(text: str, voice: DemoVoice, aug: Augmentation, out_wav: str, seed: int) -> np.ndarray:
    """Synthesise, shift the pitch (flite, festival), reverberate, level, pad and add noise:
    16 kHz mono PCM16 in `out_wav`, returned as int16 samples."""
    import soundfile as sf

    with tempfile.TemporaryDirectory() as tmp:
        raw = os.path.join(tmp, "raw.wav")
        speak(text, voice, raw)
        sox = ["sox", "-q", "-D", "-R", raw, "-r", "16000", "-c", "1", "-b", "16", "-e",
               "signed-integer", os.path.join(tmp, "out.wav")]
        if voice.name in RATE_BY_SOX_TEMPO and voice.rate != 1.0:
            sox += ["tempo", "-s", f"{voice.rate:.3f}"]
        if voice.family != "espeak" and voice.pitch:
            sox += ["pitch", str(voice.pitch)]
        sox += ["norm", "-3", "pad", f"{aug.pad_start:.3f}", f"{aug.pad_end:.3f}"]
        if aug.reverb:
            sox += ["reverb", *map(str, aug.reverb), "channels", "1"]
        sox += ["norm", f"{-3.0 + aug.gain_db:.2f}"]
        subprocess.run(sox, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        audio, _ = sf.read(os.path.join(tmp, "out.wav"), dtype="int16")
    if aug.noise:
        nrng = np.random.default_rng(seed)
        x = audio.astype(np.float64)
        noise = nrng.normal(0, 1, size=x.shape)
        if aug.noise == "pink":  # 1/f power: scale the spectrum by 1/sqrt(f)
            spec = np.fft.rfft(noise)
            f = np.arange(len(spec), dtype=np.float64)
            f[0] = 1
            noise = np.fft.irfft(spec / np.sqrt(f), n=len(noise))
        p_sig = np.mean(x ** 2) + 1e-9
        noise *= math.sqrt(p_sig / 10 ** (aug.snr_db / 10) / (np.mean(noise ** 2) + 1e-12))
        audio = np.clip(np.round(x + noise), -32768, 32767).astype(np.int16)
    sf.write(out_wav, audio, 16000, subtype="PCM_16")
    return audio


# ----------------------------------------------------------------------------- non-speech

# Share of training clips without speech, transcribed as nothing: stage 1 never heard one and
# turns noise alone into digits.
NON_SPEECH_SHARE = {1: 0.0, "1b": 0.05, "1c": 0.05, "1d": 0.05, "1g": 0.05, 2: 0.04}


def render_non_speech(rng: random.Random, out_wav: str, seed: int) -> tuple[np.ndarray, str]:
    """0.5-6 s of white or pink noise, mains hum, or near-silence, at a random level."""
    import soundfile as sf

    n = int(16000 * rng.uniform(0.5, 6.0))
    nrng = np.random.default_rng(seed)
    kind = rng.choice(["white", "pink", "hum", "quiet"])
    if kind == "hum":
        t = np.arange(n) / 16000
        f0 = rng.choice([50.0, 60.0])
        x = sum(np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k for k in (1, 2, 3))
        x = x + nrng.normal(0, 0.05, n)
    else:
        x = nrng.normal(0, 1, n)
        if kind == "pink":
            spec = np.fft.rfft(x)
            f = np.arange(len(spec), dtype=np.float64)
            f[0] = 1
            x = np.fft.irfft(spec / np.sqrt(f), n=n)
    level_db = rng.uniform(-75, -60) if kind == "quiet" else rng.uniform(-45, -12)
    x = x / (np.sqrt(np.mean(x ** 2)) + 1e-12) * 32768 * 10 ** (level_db / 20)
    audio = np.clip(np.round(x), -32768, 32767).astype(np.int16)
    sf.write(out_wav, audio, 16000, subtype="PCM_16")
    return audio, f"{kind}{level_db:.0f}dB"


# ----------------------------------------------------------------------------- corpora

def _synth_job(job: tuple) -> dict:
    idx, seed, out_dir, stage, heldout, clean = job
    rng = random.Random(seed)
    path = os.path.join(out_dir, f"{idx:05d}.wav")
    if not heldout and NON_SPEECH_SHARE[stage] and \
            random.Random(seed ^ 0x5EED).random() < NON_SPEECH_SHARE[stage]:
        audio, what = render_non_speech(rng, path, seed)
        return {"audio_filepath": path, "duration": round(len(audio) / 16000, 4), "text": "",
                "voice": "none", "family": "none", "augmentation": what}
    spoken = STAGE_TEXTS[stage](rng)
    voice = random_voice(rng, heldout, stage)
    aug = random_augmentation(rng, clean)
    audio = render(spoken, voice, aug, path, seed)
    return {"audio_filepath": path, "duration": round(len(audio) / 16000, 4),
            "text": label_of(spoken),
            "voice": voice.label(), "family": voice.family, "augmentation": aug.label()}


def make_corpus(out_dir: str, n: int, seed: int, stage: int | str, heldout: bool, clean: bool = False,
                procs: int = 2, log=print) -> str:
    """`n` clips in `out_dir` with `manifest.jsonl`; reused when it is already complete."""
    jobs = [(i, seed * 1_000_003 + i, out_dir, stage, heldout, clean) for i in range(n)]
    return write_corpus(out_dir, jobs, _synth_job, procs, chunksize=16, log=log)
