"""Loads an exported model directory (encoder-model.onnx, decoder_joint-model.onnx) back into a
NeMo model of the same size, so a shipped model can be fine-tuned when its .nemo is gone.

torch's ONNX export keeps most parameter names; the rest are recovered from the graph:
- Linear weights become anonymous MatMul initializers (transposed); the node's name
  (`/layers.0/feed_forward1/linear1/MatMul`) says which module they belong to.
- The depthwise convolution's BatchNorm is folded into the convolution. The folded weight and bias
  go into the convolution, and the BatchNorm is made an identity on the statistics it sees:
  its running mean and variance are measured on calibration audio, and its scale and shift undo
  them. In eval mode that is exact; in training mode, where BatchNorm normalises by the batch's
  own statistics, it is the identity up to how far a batch strays from the calibration batches.
- The prediction network's LSTM weights are in ONNX's gate order (i, o, f, c); PyTorch's is
  (i, f, c, o).
"""

from __future__ import annotations

import os

import numpy as np

ENCODER = "encoder-model.onnx"
DECODER = "decoder_joint-model.onnx"


def _graph_tensors(path: str, prefix: str) -> tuple[dict, dict]:
    """(named, folded): tensors keyed by NeMo state-dict key, and the folded depthwise
    convolutions keyed by their module path (weight, bias)."""
    import onnx
    from onnx import numpy_helper

    m = onnx.load(path)
    inits = {i.name: numpy_helper.to_array(i) for i in m.graph.initializer}
    named: dict[str, np.ndarray] = {}
    folded: dict[str, tuple[np.ndarray, np.ndarray]] = {}
    lstm = 0
    for name, arr in inits.items():
        if "::" not in name:  # kept its parameter name
            named[prefix + name] = arr
    for node in m.graph.node:
        path_ = node.name.strip("/").split("/")[:-1]  # module path, without the op's own name
        if node.op_type == "MatMul":
            w = [x for x in node.input if x in inits and "::" in x]
            if w:
                # the encoder graph names modules from inside the encoder (`/layers.0/…`), the
                # decoder graph from the top (`/joint/enc/MatMul`)
                named[prefix + ".".join(_dedupe(path_)) + ".weight"] = inits[w[0]].T.copy()
        elif node.op_type == "Conv" and node.name.endswith("depthwise_conv/Conv"):
            w, b = [inits[x] for x in node.input if x in inits]
            folded[prefix + ".".join(_dedupe(path_))] = (w, b)
        elif node.op_type == "LSTM":
            w, r, b = [inits[x] for x in node.input if x in inits]
            h = w.shape[1] // 4
            order = np.concatenate([np.arange(0, h), np.arange(2 * h, 3 * h), np.arange(3 * h, 4 * h),
                                    np.arange(h, 2 * h)])  # ONNX i,o,f,c -> torch i,f,c,o
            base = "decoder.prediction.dec_rnn.lstm."
            named[base + f"weight_ih_l{lstm}"] = w[0][order]
            named[base + f"weight_hh_l{lstm}"] = r[0][order]
            named[base + f"bias_ih_l{lstm}"] = b[0][: 4 * h][order]
            named[base + f"bias_hh_l{lstm}"] = b[0][4 * h:][order]
            lstm += 1
    return named, folded


def _dedupe(parts: list[str]) -> list[str]:
    """`pre_encode/conv/conv.0` names the module `pre_encode.conv.0`: a part that repeats its
    parent's name with an index is the parent's child."""
    out: list[str] = []
    for p in parts:
        if out and p.startswith(out[-1] + "."):
            out[-1] = p
        else:
            out.append(p)
    return out


def load_exported(model, model_dir: str, calibration: list) -> dict:
    """Sets every tensor of `model` (a NeMo EncDecRNNTBPEModel of the directory's size) from the
    exported graphs in `model_dir`. `calibration`: (signal, lengths) batches for the folded
    BatchNorms. Returns counts of what was set."""
    import torch

    enc_named, folded = _graph_tensors(os.path.join(model_dir, ENCODER), "encoder.")
    dec_named, _ = _graph_tensors(os.path.join(model_dir, DECODER), "")
    tensors = {**enc_named, **dec_named}
    own = model.state_dict()
    missing = []
    with torch.no_grad():
        for k, v in own.items():
            if k.startswith("preprocessor.") or ".batch_norm." in k:
                continue  # fixed feature buffers; BatchNorms below
            if ".depthwise_conv." in k:
                mod = k.rsplit(".", 1)[0]
                w, b = folded[mod]
                src = w if k.endswith("weight") else np.zeros_like(b)
            elif k in tensors:
                src = tensors[k]
            else:
                missing.append(k)
                continue
            if tuple(src.shape) != tuple(v.shape):
                raise SystemExit(f"{model_dir}: {k} is {tuple(src.shape)} in the graph, "
                                 f"{tuple(v.shape)} in this model")
            v.copy_(torch.from_numpy(np.ascontiguousarray(src)))
    if missing:
        raise SystemExit(f"{model_dir}: not in its graphs: {', '.join(missing[:5])}"
                         f"{' …' if len(missing) > 5 else ''} ({len(missing)} tensors)")

    # BatchNorm statistics: the convolution's output (bias-free) over the calibration audio.
    sums: dict[str, list] = {}
    hooks = []
    for name, mod in model.named_modules():
        if name.endswith("conv.depthwise_conv"):
            def hook(_m, _inp, out, name=name):
                x = out.detach().transpose(0, 1).reshape(out.shape[1], -1).double()
                s = sums.setdefault(name, [0.0, 0.0, 0])
                s[0] = s[0] + x.sum(1)
                s[1] = s[1] + (x * x).sum(1)
                s[2] += x.shape[1]
            hooks.append(mod.register_forward_hook(hook))
    model.eval()
    with torch.no_grad():
        for sig, lens in calibration:
            model.forward(input_signal=sig, input_signal_length=lens)
    for h in hooks:
        h.remove()
    with torch.no_grad():
        for name, (s1, s2, n) in sums.items():
            mean = s1 / n
            var = (s2 / n - mean * mean).clamp_min(1e-6)
            bn = model.get_submodule(name.rsplit(".", 1)[0] + ".batch_norm")
            _, b = folded[name]
            bn.running_mean.copy_(mean.float())
            bn.running_var.copy_(var.float())
            bn.weight.copy_(torch.sqrt(var + bn.eps).float())
            bn.bias.copy_(mean.float() + torch.from_numpy(b))
    return {"tensors": len(own), "batch_norms_calibrated": len(sums)}
