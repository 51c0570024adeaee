"""models/parakeet_arch.py's `full` size is Parakeet-TDT-0.6B-v3 to the byte: exported the way
build_model.py and export_nemo.py export (NeMo's exporter, then export_nemo.save_graph), its
files are as large as the public ONNX export's.

The public export (onnx-asr's nemo-conformer-tdt layout of nvidia/parakeet-tdt-0.6b-v3) has
  encoder-model.onnx.data     2,435,420,160 bytes (every encoder tensor of 1 kB or more)
  decoder_joint-model.onnx       72,520,893 bytes (one file)

Building the 2.4 GB encoder would take minutes and gigabytes, so the encoder is exported at full
width with 1 and with 2 Conformer layers and its .data size extrapolated to 24 layers: the layers
are identical, so each adds the same tensors. The decoder + joint graph does not depend on the
encoder's depth and is exported whole.

Weights are random and distinct: torch's ONNX exporter stores identical initializers once, so
the freshly initialised LayerNorm weights (all ones), zero biases and positional biases would
collapse into a few tensors, where a trained model has none alike.

The encoder's .data file holds only weights and matches to the byte. decoder_joint-model.onnx
also holds the graph itself: 72,514,072 bytes of weights and 6,822 bytes of graph here, one byte
more than the public file. A change of the joint's architecture moves the weights by whole rows
(a single vocabulary piece more is 5,124 bytes); one byte is graph text, such as the exporter's
version string (`producer_version`, "2.13.0" from our torch 2.13.0; a torch with a
5-character version writes one byte less). So the joint's size may differ by that one byte.

The state dict also has the published checkpoint's 723 tensors (987 with NeMo's default
biases).

Run: .tools/venv-nemo/bin/python -m pytest tests/python/test_arch_size.py
(or `python tests/python/test_arch_size.py [SIZE-FLAGS-JSON]` to print the figures).
"""

from __future__ import annotations

import dataclasses
import json
import os
import sys
import tempfile

import pytest

from models import parakeet_arch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

REAL_ENCODER_DATA = 2_435_420_160
REAL_DECODER_JOINT = 72_520_893


def _randomise(module) -> None:
    """Every parameter and BatchNorm statistic distinct and random (see the module docstring)."""
    import torch

    with torch.no_grad():
        for p in module.parameters():
            p.uniform_(-0.5, 0.5)
        for name, b in module.named_buffers():
            if name.endswith(("running_mean", "running_var")):
                b.uniform_(0.5, 1.5)


def _modules(size: parakeet_arch.Size):
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecRNNTModel

    cfg = parakeet_arch.model_config(size, tokenizer_dir="unused")
    vocab = [f"p{i}" for i in range(size.vocab_size)]
    # What EncDecRNNTModel.__init__ fills in before it builds the decoder and the joint.
    cfg["decoder"]["vocab_size"] = len(vocab)
    cfg["joint"]["num_classes"] = len(vocab)
    cfg["joint"]["vocabulary"] = vocab
    cfg["joint"]["jointnet"]["encoder_hidden"] = cfg["model_defaults"]["enc_hidden"]
    cfg["joint"]["jointnet"]["pred_hidden"] = cfg["model_defaults"]["pred_hidden"]
    build = lambda section: EncDecRNNTModel.from_config_dict(OmegaConf.create(cfg[section]))  # noqa: E731
    return build


def export_sizes(size: parakeet_arch.Size, work: str) -> dict:
    """Exports `size`'s encoder with 1 and 2 layers and its decoder + joint; returns the byte
    counts and parameter counts, extrapolated to size.n_layers."""
    import onnx
    import torch
    from nemo.collections.asr.modules.rnnt import RNNTDecoderJoint
    from models.export_nemo import save_graph

    torch.manual_seed(0)
    out: dict = {}
    data, params = {}, {}
    for n in (1, 2):
        encoder = _modules(dataclasses.replace(size, n_layers=n))("encoder")
        _randomise(encoder)
        encoder.eval()
        tmp = os.path.join(work, f"torch-{n}")
        os.makedirs(tmp)
        # What EncDecRNNTModel.export does for its "encoder" subnet, then the project's save.
        encoder.export(os.path.join(tmp, "encoder-model.onnx"), check_trace=False)
        dst = os.path.join(work, f"encoder-{n}", "encoder-model.onnx")
        os.makedirs(os.path.dirname(dst))
        save_graph(os.path.join(tmp, "encoder-model.onnx"), dst, external=True)
        data[n] = os.path.getsize(dst + ".data")
        params[n] = sum(p.numel() for p in encoder.parameters())
        del encoder
    per_layer = data[2] - data[1]
    out["encoder_data_per_layer"] = per_layer
    out["encoder_data"] = data[1] + (size.n_layers - 1) * per_layer
    out["encoder_parameters"] = params[1] + (size.n_layers - 1) * (params[2] - params[1])

    build = _modules(size)
    decoder, joint = build("decoder"), build("joint")
    dj = RNNTDecoderJoint(decoder, joint)
    _randomise(dj)
    dj.eval()
    tmp = os.path.join(work, "torch-dj")
    os.makedirs(tmp)
    dj.export(os.path.join(tmp, "decoder_joint-model.onnx"), check_trace=False)
    dst = os.path.join(work, "decoder_joint-model.onnx")
    save_graph(os.path.join(tmp, "decoder_joint-model.onnx"), dst, external=False)
    m = onnx.load(dst)
    out["decoder_joint"] = os.path.getsize(dst)
    out["decoder_joint_weights"] = sum(len(t.raw_data) for t in m.graph.initializer)
    out["decoder_joint_producer_version"] = m.producer_version
    out["decoder_joint_parameters"] = sum(p.numel() for p in dj.parameters())
    out["parameters"] = out["encoder_parameters"] + out["decoder_joint_parameters"]
    return out


@pytest.fixture(scope="module")
def full_sizes():
    pytest.importorskip("nemo")
    import torch

    torch.set_num_threads(2)
    with tempfile.TemporaryDirectory() as work:
        yield export_sizes(parakeet_arch.SIZES["full"], work)


def test_full_encoder_data_file_is_the_published_size(full_sizes):
    assert full_sizes["encoder_data"] == REAL_ENCODER_DATA, full_sizes


def test_full_decoder_joint_file_is_the_published_size(full_sizes):
    # every parameter is in the file once, as 4-byte floats
    assert full_sizes["decoder_joint_weights"] == 4 * full_sizes["decoder_joint_parameters"]
    # the graph text may differ by a byte (exporter version string), the weights cannot
    assert abs(full_sizes["decoder_joint"] - REAL_DECODER_JOINT) <= 1, full_sizes


def test_full_state_dict_has_the_published_tensor_count():
    # The published checkpoint holds 723 tensors (its safetensors header): 699 weights and the
    # 24 BatchNorm num_batches_tracked counters. The count does not depend on the widths, so a
    # narrow model of full depth is enough; with NeMo's default biases it would be 987.
    pytest.importorskip("nemo")
    narrow = dataclasses.replace(parakeet_arch.SIZES["full"], d_model=64, n_heads=4,
                                 subsampling_conv_channels=16, pred_hidden=32, joint_hidden=32,
                                 vocab_size=50)
    build = _modules(narrow)
    assert sum(len(build(s).state_dict()) for s in ("encoder", "decoder", "joint")) == 723


def test_full_size_keeps_the_published_encoder_flags():
    full = parakeet_arch.SIZES["full"]
    enc = parakeet_arch.model_config(full, tokenizer_dir="unused")["encoder"]
    assert enc["xscaling"] is False and enc["use_bias"] is False and enc["untie_biases"] is True
    assert (enc["n_layers"], enc["d_model"], enc["n_heads"], enc["subsampling_conv_channels"],
            enc["conv_kernel_size"], enc["pos_emb_max_len"]) == (24, 1024, 8, 256, 9, 5000)


if __name__ == "__main__":
    import torch

    torch.set_num_threads(2)
    flags = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    with tempfile.TemporaryDirectory() as work:
        print(json.dumps(export_sizes(dataclasses.replace(parakeet_arch.SIZES["full"], **flags),
                                      work), indent=1))
