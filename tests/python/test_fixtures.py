"""The committed fixtures are what NeMo computes: features from the Parakeet preprocessor config,
and the tiny model directory in the public parakeet-tdt-0.6b-v3 ONNX layout.

Run: .tools/venv-nemo/bin/python -m pytest tests/python
"""

import json
import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REF = os.path.join(ROOT, "tests", "fixtures", "reference")
MODEL = os.path.join(ROOT, "models", "test", "tiny-tdt")
CLIPS = json.load(open(os.path.join(ROOT, "tests", "fixtures", "clips", "clips.json")))["clips"]


def test_fixture_features_equal_nemo_preprocessor_output():
    pytest.importorskip("nemo")
    from tests.fixtures import make_references as mr

    pre = mr.make_preprocessor()
    for clip in CLIPS:
        name = clip["clip"][:-4]
        ref = json.load(open(os.path.join(REF, f"{name}.json")))
        audio = mr.read_wav(os.path.join(mr.CLIPS_DIR, clip["clip"]))
        assert ref["num_samples"] == audio.shape[0] == clip["num_samples"]
        feats, n, _ = mr.nemo_features(pre, audio)
        assert n == audio.shape[0] // 160 == ref["features"]["shape"][1]
        stored = np.fromfile(os.path.join(REF, ref["features"]["file"]), dtype="<f4").reshape(128, n)
        # NeMo's float32 STFT, log and normalisation round differently from one CPU to another:
        # the fixtures, made on an AMD EPYC, differ from an Intel Xeon's output by up to 2.0e-4
        # (0.1-1% of the values over 1e-5), on normalised features of magnitude up to 6.4
        np.testing.assert_allclose(stored, feats, atol=5e-4, rtol=0)


def test_tiny_model_directory_has_parakeet_onnx_layout_and_signatures():
    ort = pytest.importorskip("onnxruntime")
    cfg = json.load(open(os.path.join(MODEL, "config.json")))
    assert cfg["model_type"] == "nemo-conformer-tdt" and cfg["features_size"] == 128
    assert cfg["subsampling_factor"] == 8 and cfg["max_tokens_per_step"] == 10
    lines = open(os.path.join(MODEL, "vocab.txt"), encoding="utf-8").read().splitlines()
    V = len(lines) - 1
    assert lines[-1] == f"<blk> {V}" and all(l.rsplit(" ", 1)[1] == str(i) for i, l in enumerate(lines))
    for suffix in ("", ".int8"):
        enc = ort.InferenceSession(os.path.join(MODEL, f"encoder-model{suffix}.onnx"))
        dj = ort.InferenceSession(os.path.join(MODEL, f"decoder_joint-model{suffix}.onnx"))
        assert [i.name for i in enc.get_inputs()] == ["audio_signal", "length"]
        assert [o.name for o in enc.get_outputs()] == ["outputs", "encoded_lengths"]
        ins = {i.name: i for i in dj.get_inputs()}
        assert ins["targets"].type == "tensor(int32)" and ins["target_length"].type == "tensor(int32)"
        assert ins["input_states_1"].shape[0] == 2 and ins["input_states_2"].shape[0] == 2
        outs = {o.name: o for o in dj.get_outputs()}
        assert outs["outputs"].shape[-1] == V + 1 + 5
        assert set(outs) == {"outputs", "prednet_lengths", "output_states_1", "output_states_2"}
