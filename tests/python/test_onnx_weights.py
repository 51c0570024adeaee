"""models/onnx_weights.py reads an exported model directory back into a NeMo model: on the tiny
model, whose .nemo and whose ONNX export are both committed, every tensor read back equals the
checkpoint's (the BatchNorms, folded away by the export, are replaced by an equivalent), the
encoder's output and the transcripts are the checkpoint's, and a directory of another size is
refused with the tensor named.

Run: .tools/venv-nemo/bin/python -m pytest tests/python/test_onnx_weights.py
"""

import os

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY_NEMO = os.path.join(ROOT, "models", "test", "tiny-tdt-nemo", "model.nemo")
TINY_DIR = os.path.join(ROOT, "models", "test", "tiny-tdt")
DEMO_DIR = os.path.join(ROOT, "models", "demo")
CLIPS = os.path.join(ROOT, "tests", "fixtures", "clips")

pytest.importorskip("nemo")


def restore():
    from nemo.collections.asr.models import EncDecRNNTBPEModel

    m = EncDecRNNTBPEModel.restore_from(TINY_NEMO, map_location="cpu")
    m.eval()
    return m


@pytest.fixture(scope="module")
def checkpoint():
    return restore()


def fresh_like(_model):
    """The same architecture and tokenizer with every weight overwritten at random."""
    import torch

    fresh = restore()
    torch.manual_seed(123)
    with torch.no_grad():
        for name, p in fresh.named_parameters():
            p.copy_(torch.randn_like(p) * 0.05)
        for name, b in fresh.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                b.fill_(0.5)
    return fresh


def clip_batch(names):
    import soundfile as sf
    import torch

    audio = [sf.read(os.path.join(CLIPS, n), dtype="float32")[0] for n in names]
    lens = [len(a) for a in audio]
    sig = torch.zeros(len(audio), max(lens))
    for i, a in enumerate(audio):
        sig[i, : len(a)] = torch.from_numpy(a)
    return sig, torch.tensor(lens)


NAMES = ["digits_pi.wav", "seven_eight.wav", "yes_countdown.wav", "six_thousand.wav"]


def test_every_tensor_read_back_equals_the_checkpoint(checkpoint):
    from models import onnx_weights

    model = fresh_like(checkpoint)
    got = onnx_weights.load_exported(model, TINY_DIR, [clip_batch(NAMES)])
    assert got["batch_norms_calibrated"] == len(checkpoint.encoder.layers)
    want = checkpoint.state_dict()
    compared = 0
    for k, v in model.state_dict().items():
        if ".batch_norm." in k or ".depthwise_conv." in k or k.startswith("preprocessor."):
            continue
        np.testing.assert_allclose(v.numpy(), want[k].numpy(), rtol=0, atol=0, err_msg=k)
        compared += 1
    assert compared > 100


def test_encoder_output_and_transcripts_equal_the_checkpoint(checkpoint):
    from models import build_model
    from models import onnx_weights
    import torch

    model = fresh_like(checkpoint)
    onnx_weights.load_exported(model, TINY_DIR, [clip_batch(NAMES)])
    model.eval()
    sig, lens = clip_batch(NAMES)
    with torch.no_grad():
        a, al = checkpoint.forward(input_signal=sig, input_signal_length=lens)
        b, bl = model.forward(input_signal=sig, input_signal_length=lens)
    assert torch.equal(al, bl)
    # The folded BatchNorm is undone in float32, so equal up to rounding.
    assert float((a - b).abs().max()) < 1e-4 * float(a.abs().max())
    assert build_model.greedy_batch(model, sig, lens) == build_model.greedy_batch(checkpoint, sig, lens)


def test_a_directory_of_another_size_is_refused_with_the_tensor_named(checkpoint):
    from models import onnx_weights

    model = fresh_like(checkpoint)
    with pytest.raises(SystemExit, match=r"models/demo: encoder\..* is \(.*\) in the graph"):
        onnx_weights.load_exported(model, DEMO_DIR, [clip_batch(NAMES[:1])])
