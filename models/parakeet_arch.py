"""NeMo config of NVIDIA Parakeet-TDT-0.6B-v3's architecture, with the size as parameters.

The structure (preprocessor, FastConformer encoder without input scaling or layer biases,
2-layer LSTM prediction network, TDT joint with 5 duration outputs, greedy TDT decoding) is
Parakeet-TDT-0.6B-v3's published configuration; only the widths, depths and the vocabulary size
change between the sizes below, except `demo`, which keeps NeMo's default encoder flags it was
trained with. `full` is the real model's size: exported, its encoder weights file is byte for
byte as large as the published ONNX export's, its decoder + joint file within one byte of graph
text (tests/python/test_arch_size.py).

Used by build_model.py (tiny/mid/full models) and tests/fixtures/make_references.py (the
preprocessor alone, for the reference features).
"""

from __future__ import annotations

import copy
from dataclasses import asdict, dataclass

SAMPLE_RATE = 16000
TDT_DURATIONS = [0, 1, 2, 3, 4]
MAX_SYMBOLS = 10
SUBSAMPLING_FACTOR = 8

# Parakeet-TDT-0.6B-v3's preprocessor. `dither` only acts in training mode (NeMo skips it in
# eval), `pad_to: 0` means no padding of the frame count. The rest are NeMo's
# AudioToMelSpectrogramPreprocessor defaults, spelled out so the TypeScript extractor can
# match them.
PREPROCESSOR = {
    "_target_": "nemo.collections.asr.modules.AudioToMelSpectrogramPreprocessor",
    "sample_rate": SAMPLE_RATE,
    "normalize": "per_feature",
    "window_size": 0.025,  # 400 samples
    "window_stride": 0.01,  # 160 samples
    "window": "hann",  # torch.hann_window(400, periodic=False), centred in the 512 FFT frame
    "features": 128,
    "n_fft": 512,
    "frame_splicing": 1,
    "dither": 1e-05,
    "pad_to": 0,
    "preemph": 0.97,
    "log": True,
    "log_zero_guard_type": "add",
    "log_zero_guard_value": 2**-24,
    "mag_power": 2.0,
    "lowfreq": 0,
    "highfreq": None,  # sample_rate / 2
    "mel_norm": "slaney",
    "exact_pad": False,  # torch.stft(center=True, pad_mode="constant")
    "pad_value": 0.0,
}


@dataclass(frozen=True)
class Size:
    d_model: int
    n_layers: int
    n_heads: int
    subsampling_conv_channels: int
    pred_hidden: int
    joint_hidden: int
    pred_rnn_layers: int = 2
    vocab_size: int = 8192  # SentencePiece pieces (blank not counted)
    # Longest encoder input in encoder frames (80 ms each): the exported ONNX graph holds a
    # relative positional table of 2 * pos_emb_max_len - 1 rows (Parakeet: 5000 = 400 s).
    pos_emb_max_len: int = 5000
    # Parakeet-TDT-0.6B-v3's encoder: no sqrt(d_model) scaling of the subsampled input
    # (`xscaling: false`) and no biases in the Linear and Conv1d modules of its Conformer layers
    # (`use_bias: false`: feed-forward, attention q/k/v/out, pointwise and depthwise
    # convolutions; the untied positional biases pos_bias_u/v stay).
    xscaling: bool = False
    use_bias: bool = False


SIZES: dict[str, Size] = {
    # The test model committed under models/test/tiny-tdt (about 1.2 M parameters; windows up
    # to 100 s, which keeps its positional table at 1 MB instead of 3.8 MB).
    "tiny": Size(d_model=96, n_layers=4, n_heads=4, subsampling_conv_channels=64,
                 pred_hidden=96, joint_hidden=96, vocab_size=64, pos_emb_max_len=1250),
    # The trained demo model shipped in models/demo (about 3 M parameters: small enough to
    # commit as fp32 + int8 under 20 MB, large enough to learn spoken numbers from many voices).
    # It keeps the encoder flags it was trained with, NeMo's defaults (xscaling and biases),
    # which differ from v3's: the shipped weights have those biases.
    "demo": Size(d_model=128, n_layers=6, n_heads=4, subsampling_conv_channels=96,
                 pred_hidden=128, joint_hidden=128, vocab_size=56, pos_emb_max_len=1250,
                 xscaling=True, use_bias=True),
    # A middle size for benchmarks that should not take the full model's memory.
    "mid": Size(d_model=256, n_layers=8, n_heads=4, subsampling_conv_channels=128,
                pred_hidden=320, joint_hidden=320, vocab_size=1024),
    # Parakeet-TDT-0.6B-v3 itself.
    "full": Size(d_model=1024, n_layers=24, n_heads=8, subsampling_conv_channels=256,
                 pred_hidden=640, joint_hidden=640, vocab_size=8192),
}


def preprocessor_config(**overrides) -> dict:
    cfg = copy.deepcopy(PREPROCESSOR)
    cfg.update(overrides)
    return cfg


def _dataset(manifest: str | None, batch_size: int, shuffle: bool) -> dict:
    return {
        "manifest_filepath": manifest,
        "sample_rate": SAMPLE_RATE,
        "batch_size": batch_size,
        "shuffle": shuffle,
        "num_workers": 0,
        "pin_memory": False,
        "use_start_end_token": False,
        "max_duration": 40,
        "min_duration": 0.1,
    }


def model_config(size: Size, tokenizer_dir: str, *, train_manifest: str | None = None,
                 val_manifest: str | None = None, batch_size: int = 16, dropout: float = 0.1,
                 spec_augment: dict | None = None) -> dict:
    """The `model` section for nemo.collections.asr.models.EncDecRNNTBPEModel.

    Modelled on NeMo's fastconformer_hybrid_tdt_ctc_bpe.yaml with Parakeet-TDT-0.6B-v3's
    values (TDT only, no auxiliary CTC head, as the published model is exported).
    `spec_augment` gives SpectrogramAugmentation's masks (freq_masks, freq_width, time_masks,
    time_width); without it there are none.
    """
    d = size.d_model
    cfg = {
        "sample_rate": SAMPLE_RATE,
        "compute_eval_loss": False,
        "log_prediction": False,
        "skip_nan_grad": False,
        "model_defaults": {
            "enc_hidden": d,
            "pred_hidden": size.pred_hidden,
            "joint_hidden": size.joint_hidden,
            "tdt_durations": list(TDT_DURATIONS),
            "num_tdt_durations": len(TDT_DURATIONS),
        },
        # NeMo's transcribe() needs validation_ds; setup of train_ds needs `shuffle`.
        "train_ds": _dataset(train_manifest, batch_size, True),
        "validation_ds": _dataset(val_manifest, batch_size, False),
        "test_ds": _dataset(None, batch_size, False),
        "tokenizer": {"dir": tokenizer_dir, "type": "bpe"},
        "preprocessor": preprocessor_config(),
        "spec_augment": {
            "_target_": "nemo.collections.asr.modules.SpectrogramAugmentation",
            "freq_masks": 0, "time_masks": 0, "freq_width": 27, "time_width": 0.05,
            **(spec_augment or {}),
        },
        "encoder": {
            "_target_": "nemo.collections.asr.modules.ConformerEncoder",
            "feat_in": PREPROCESSOR["features"],
            "feat_out": -1,
            "n_layers": size.n_layers,
            "d_model": d,
            "subsampling": "dw_striding",
            "subsampling_factor": SUBSAMPLING_FACTOR,
            "subsampling_conv_channels": size.subsampling_conv_channels,
            "causal_downsampling": False,
            "reduction": None,
            "reduction_position": None,
            "reduction_factor": 1,
            "ff_expansion_factor": 4,
            "self_attention_model": "rel_pos",
            "n_heads": size.n_heads,
            "att_context_size": [-1, -1],
            "att_context_style": "regular",
            "use_bias": size.use_bias,
            "xscaling": size.xscaling,
            "untie_biases": True,
            "pos_emb_max_len": size.pos_emb_max_len,
            "conv_kernel_size": 9,
            "conv_norm_type": "batch_norm",
            "conv_context_size": None,
            "dropout": dropout,
            "dropout_pre_encoder": dropout,
            "dropout_emb": 0.0,
            "dropout_att": dropout,
            "stochastic_depth_drop_prob": 0.0,
            "stochastic_depth_mode": "linear",
            "stochastic_depth_start_layer": 1,
        },
        "decoder": {
            "_target_": "nemo.collections.asr.modules.RNNTDecoder",
            "normalization_mode": None,
            "random_state_sampling": False,
            "blank_as_pad": True,
            "prednet": {
                "pred_hidden": size.pred_hidden,
                "pred_rnn_layers": size.pred_rnn_layers,
                "t_max": None,
                "dropout": dropout,
            },
        },
        "joint": {
            "_target_": "nemo.collections.asr.modules.RNNTJoint",
            "log_softmax": None,
            "preserve_memory": False,
            "fuse_loss_wer": False,
            "fused_batch_size": 4,
            "jointnet": {
                "joint_hidden": size.joint_hidden,
                "activation": "relu",
                "dropout": dropout,
            },
            "num_extra_outputs": len(TDT_DURATIONS),
        },
        "decoding": {
            "strategy": "greedy_batch",
            "model_type": "tdt",
            "durations": list(TDT_DURATIONS),
            "greedy": {"max_symbols": MAX_SYMBOLS},
            "beam": {"beam_size": 2, "return_best_hypothesis": False, "score_norm": True,
                     "tsd_max_sym_exp": 50, "alsd_max_target_len": 2.0},
        },
        "loss": {
            "loss_name": "tdt",
            "tdt_kwargs": {
                "fastemit_lambda": 0.0,
                "clamp": -1.0,
                "durations": list(TDT_DURATIONS),
                "sigma": 0.02,
                "omega": 0.1,
            },
        },
        "optim": {
            "name": "adamw",
            "lr": 1.5e-3,
            "betas": [0.9, 0.98],
            "weight_decay": 1e-3,
        },
    }
    return cfg


def size_dict(size: Size) -> dict:
    return asdict(size)
