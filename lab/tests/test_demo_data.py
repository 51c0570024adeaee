"""The demo model's synthetic speech (lab/training/demo_data.py): each voice says what its label says.

Festival's rate and the intonation targets of flite and festival are checked on the audio they make
(duration, median pitch), since a knob a synthesiser silently ignores still yields a clip.
Needs espeak-ng, flite, sox and festival with its three English voices and the eight of other
languages that read respelled digits (.ci/run installs them).
"""

from __future__ import annotations

import os
import random

import numpy as np
import pytest
import soundfile as sf

from lab.training import demo_data
from lab.training.demo_data import DemoVoice

TEXT = "three two oh five six"


def spoken(voice: DemoVoice, tmp_path) -> tuple[np.ndarray, int]:
    path = os.path.join(tmp_path, f"{abs(hash(voice.label()))}.wav")
    demo_data.speak(TEXT, voice, path)
    audio, rate = sf.read(path)
    return (audio if audio.ndim == 1 else audio[:, 0]), rate


def median_pitch(audio: np.ndarray, rate: int) -> float:
    """Median autocorrelation pitch (Hz) of the voiced 40 ms frames, 60-400 Hz."""
    frame, hop = int(0.04 * rate), int(0.01 * rate)
    peak = np.abs(audio).max()
    found = []
    for start in range(0, len(audio) - frame, hop):
        w = audio[start:start + frame] * np.hanning(frame)
        if np.sqrt(np.mean(w ** 2)) < 0.02 * peak:
            continue
        ac = np.correlate(w, w, "full")[frame - 1:]
        lo, hi = rate // 400, rate // 60
        lag = lo + int(np.argmax(ac[lo:hi]))
        if ac[lag] > 0.4 * ac[0]:
            found.append(rate / lag)
    assert len(found) > 20, "too few voiced frames to measure"
    return float(np.median(found))


def speech_seconds(audio: np.ndarray, rate: int) -> float:
    """From the first to the last sample above 2% of the peak: the synthesisers pad differently."""
    loud = np.nonzero(np.abs(audio) > 0.02 * np.abs(audio).max())[0]
    return (loud[-1] - loud[0]) / rate


@pytest.mark.parametrize("name", ["kal_diphone", "ked_diphone", "cmu_us_slt_arctic_hts"])
def test_festival_speaks_at_the_rate_asked(name, tmp_path):
    slow = speech_seconds(*spoken(DemoVoice("festival", name, 0.8, 0), tmp_path))
    fast = speech_seconds(*spoken(DemoVoice("festival", name, 1.25, 0), tmp_path))
    # 1.25 / 0.8 = 1.56; a rate ignored gives 1.0.
    assert 1.35 < slow / fast < 1.8, (slow, fast)


def test_festival_takes_one_scheme_expression():
    # text2wave -eval evaluates the first expression of its text and ignores the rest.
    for voice in [DemoVoice("festival", "kal_diphone", 1.2, 0, 210),
                  DemoVoice("festival", "cmu_us_slt_arctic_hts", 0.9, 0)]:
        scheme = demo_data.festival_scheme(voice)
        depth, closed_at = 0, []
        for i, ch in enumerate(scheme):
            depth += {"(": 1, ")": -1}.get(ch, 0)
            if depth == 0 and ch == ")":
                closed_at.append(i)
        assert closed_at == [len(scheme) - 1], scheme


@pytest.mark.parametrize("family,name", [("flite", "kal"), ("flite", "awb"), ("flite", "kal16"),
                                         ("festival", "kal_diphone")])
def test_intonation_target_moves_the_pitch(family, name, tmp_path):
    low = median_pitch(*spoken(DemoVoice(family, name, 1.0, 0, 100), tmp_path))
    high = median_pitch(*spoken(DemoVoice(family, name, 1.0, 0, 220), tmp_path))
    assert 80 < low < 135, low
    assert 185 < high < 270, high


def test_which_stages_vary_festival_rate_and_pitch_target():
    for stage in [1, "1b", "1c", 2]:
        voices = [demo_data.random_voice(random.Random(i), heldout, stage)
                  for i in range(400) for heldout in (False, True)]
        festival = [v for v in voices if v.family == "festival"]
        assert festival and all(v.rate == 1.0 for v in festival), stage
        assert not any(v.f0 for v in voices), stage
    train = [demo_data.random_voice(random.Random(i), False, "1d") for i in range(600)]
    heldout = [demo_data.random_voice(random.Random(i), True, "1d") for i in range(600)]
    assert len({v.rate for v in train + heldout if v.family == "festival"}) > 100
    with_f0 = [v for v in train if v.f0]
    assert {v.name for v in with_f0} == demo_data.F0_VOICES
    assert all(85 <= v.f0 <= 250 for v in with_f0)
    assert not any(v.f0 for v in heldout)
    assert any(v.family == "festival" and v.name == "cmu_us_slt_arctic_hts" and v.rate != 1.0
               for v in heldout)


def test_each_foreign_voice_has_every_digit_respelled():
    every = set(demo_data.DIGITS) | {"oh"}
    for name, lang in demo_data.FOREIGN_FESTIVAL_VOICES.items():
        assert set(demo_data.RESPELLED_DIGITS[lang]) == every, name
        said = demo_data.festival_text("seven two, oh nine", name)
        assert said.count(b",") == 1 and said.count(b" ") == 3, said
    assert demo_data.festival_text("seven two, oh nine", "kal_diphone") == b"seven two, oh nine"
    assert demo_data.festival_text("two", "czech_dita") == "tú".encode("iso-8859-2")
    with pytest.raises(ValueError, match="lp_diphone reads digits only, not 'hello'"):
        demo_data.festival_text("two hello", "lp_diphone")


@pytest.mark.parametrize("name", sorted(demo_data.FOREIGN_FESTIVAL_VOICES))
def test_foreign_voice_speaks_each_digit_at_the_rate_asked(name, tmp_path):
    def rendered(voice: DemoVoice) -> float:
        """The clip training hears (rate changed by sox for RATE_BY_SOX_TEMPO), clean."""
        path = os.path.join(tmp_path, f"{voice.name}-{voice.rate}.wav")
        aug = demo_data.Augmentation(0.0, 0.1, 0.1, None, None, 0.0)
        return speech_seconds(demo_data.render(TEXT, voice, aug, path, 0).astype(np.float64), 16000)

    own = rendered(DemoVoice("festival", name, 1.0, 0))
    english = rendered(DemoVoice("festival", "kal_diphone", 1.0, 0))
    # The five digits take about as long as an English voice takes (0.84-1.14x here): a voice
    # that spelled the respellings letter by letter, or skipped words, would not.
    assert 0.7 < own / english < 1.3, (own, english)
    slow = rendered(DemoVoice("festival", name, 0.8, 0))
    fast = rendered(DemoVoice("festival", name, 1.25, 0))
    assert 1.35 < slow / fast < 1.8, (slow, fast)


def test_only_stage_1g_trains_on_foreign_voices():
    def festival_names(stage) -> set[str]:
        voices = [demo_data.random_voice(random.Random(i), False, stage) for i in range(3000)]
        return {v.name for v in voices if v.family == "festival"}

    for stage in [1, "1b", "1c", "1d", 2]:
        assert festival_names(stage) == {"kal_diphone"}, stage
    assert festival_names("1g") == {"kal_diphone", *demo_data.FOREIGN_FESTIVAL_VOICES}
    heldout = {v.name for v in (demo_data.random_voice(random.Random(i), True, "1g")
                                for i in range(3000)) if v.family == "festival"}
    assert heldout == set(demo_data.HELDOUT_FESTIVAL_VOICES)
