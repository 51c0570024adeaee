"""Averages two exported model directories weight for weight, (1 - alpha) * A + alpha * B, into a
third in the same layout (fp32 and int8 graphs, vocab.txt, config.json).

    .tools/venv-nemo/bin/python -m lab.training.average_models models/demo .tools/demo-1h-out \
        --alpha 0.5 --recipe 1i --out models/demo

Why: a fine-tune and the model it started from lie in one basin of the loss, and a point between
them often generalises better than either end (weight averaging; "model soups", WiSE-FT). The demo
model's stage 1e and its fine-tune 1h err on different held-out voices
(lab/demo-model/stage-1i/demo-average-2026-12-02.json).

The graphs are averaged as exported: each depthwise convolution has its BatchNorm folded in, so
the average is of the folded weights. That is an exact network of the same architecture, not the
fold of averaged BatchNorms, and it is the one evaluated. Only float tensors are averaged (the
initializers, and Constant nodes' values such as the positional encoding, which two exports may
round differently in the last bits);
two directories whose graphs differ in any node, initializer name, shape or non-float value, or
whose vocab.txt differ, are refused with what differs named, and nothing is written.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil

import numpy as np

from models.export_nemo import quantize_int8
# one definition of "the same architecture", shared with the export check
from models.onnx_same_model import float_constant, graph_structure

GRAPHS = ("encoder-model.onnx", "decoder_joint-model.onnx")


class NotAverageable(ValueError):
    """The two directories are not the same architecture and vocabulary."""


def _mix(x: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    # in float64, so that alpha 0 and 1 give back each end bit for bit
    return ((1 - alpha) * x.astype(np.float64) + alpha * y.astype(np.float64)).astype(x.dtype)


def average_graphs(a, b, alpha: float):
    """A copy of onnx ModelProto `a` whose float tensors, initializers and Constant nodes' values,
    are (1 - alpha) * a + alpha * b."""
    from onnx import numpy_helper

    if graph_structure(a.graph) != graph_structure(b.graph):
        raise NotAverageable(f"the graphs {a.graph.name!r} and {b.graph.name!r} differ in their nodes")
    b_inits = {i.name: i for i in b.graph.initializer}
    a_names = [i.name for i in a.graph.initializer]
    if sorted(a_names) != sorted(b_inits):
        only = sorted(set(a_names) ^ set(b_inits))
        raise NotAverageable(f"initializers in one graph only: {', '.join(only[:5])}")
    out = type(a)()
    out.CopyFrom(a)
    del out.graph.initializer[:]
    for init in a.graph.initializer:
        x = numpy_helper.to_array(init)
        y = numpy_helper.to_array(b_inits[init.name])
        if x.shape != y.shape or x.dtype != y.dtype:
            raise NotAverageable(f"initializer {init.name}: {x.dtype}{list(x.shape)} against "
                                 f"{y.dtype}{list(y.shape)}")
        if np.issubdtype(x.dtype, np.floating):
            z = _mix(x, y, alpha)
        elif not np.array_equal(x, y):
            raise NotAverageable(f"initializer {init.name} ({x.dtype}) differs, and only floats "
                                 "are averaged")
        else:
            z = x
        out.graph.initializer.append(numpy_helper.from_array(z, init.name))
    for node, other in zip(out.graph.node, b.graph.node):
        t = float_constant(node)
        if t is not None:
            z = _mix(numpy_helper.to_array(t), numpy_helper.to_array(float_constant(other)), alpha)
            t.CopyFrom(numpy_helper.from_array(z, t.name))
    return out


def _read(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


MODEL_FILES = (*GRAPHS, "encoder-model.int8.onnx", "decoder_joint-model.int8.onnx", "vocab.txt",
               "config.json")


def average_dirs(dir_a: str, dir_b: str, alpha: float, out: str, recipe: str | None = None) -> dict:
    """Writes the average of two exported model directories to `out`: its model files replaced,
    anything else there (a README, sample clips) kept; nothing changed if anything is refused.
    `out` may be A itself. Returns the config.json written."""
    import onnx

    if not 0.0 <= alpha <= 1.0:
        raise NotAverageable(f"alpha must be between 0 and 1, not {alpha}")
    for d in (dir_a, dir_b):
        for f in (*GRAPHS, "vocab.txt", "config.json"):
            if not os.path.isfile(os.path.join(d, f)):
                raise NotAverageable(f"{d} has no {f}: not an exported model directory")
        if any(f.endswith(".onnx.data") for f in os.listdir(d)):
            raise NotAverageable(f"{d} keeps its weights outside its graphs (over 2 GB): "
                                 "only models under 2 GB are averaged")
    if _read(os.path.join(dir_a, "vocab.txt")) != _read(os.path.join(dir_b, "vocab.txt")):
        raise NotAverageable(f"{dir_a}/vocab.txt and {dir_b}/vocab.txt differ")
    graphs = {}
    for name in GRAPHS:
        try:
            graphs[name] = average_graphs(onnx.load(os.path.join(dir_a, name)),
                                          onnx.load(os.path.join(dir_b, name)), alpha)
        except NotAverageable as e:
            raise NotAverageable(f"{name}: {e}") from None
    with open(os.path.join(dir_a, "config.json")) as f:
        cfg_a = json.load(f)
    with open(os.path.join(dir_b, "config.json")) as f:
        cfg_b = json.load(f)
    if cfg_a.get("architecture") != cfg_b.get("architecture"):
        raise NotAverageable("their config.json give different architectures")

    # B's config (its training history is the chain that leads to it), named for what it is.
    config = dict(cfg_b, recipe=recipe or f"{cfg_a.get('recipe')} and {cfg_b.get('recipe')} "
                  "averaged", averaged={
        "alpha": alpha,
        "a": {"dir": os.path.basename(os.path.normpath(dir_a)), "recipe": cfg_a.get("recipe")},
        "b": {"dir": os.path.basename(os.path.normpath(dir_b)), "recipe": cfg_b.get("recipe")},
    })
    tmp = os.path.normpath(out) + ".averaging"
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    try:
        for name, m in graphs.items():
            onnx.save_model(m, os.path.join(tmp, name))
        quantize_int8(tmp, external=False)
        shutil.copyfile(os.path.join(dir_a, "vocab.txt"), os.path.join(tmp, "vocab.txt"))
        with open(os.path.join(tmp, "config.json"), "w") as f:
            json.dump(config, f, indent=2)
            f.write("\n")
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    os.makedirs(out, exist_ok=True)
    for f in MODEL_FILES:
        os.replace(os.path.join(tmp, f), os.path.join(out, f))
    shutil.rmtree(tmp)
    return config


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("a", help="exported model directory A (alpha 0)")
    ap.add_argument("b", help="exported model directory B (alpha 1)")
    ap.add_argument("--alpha", type=float, required=True, help="B's weight, 0..1")
    ap.add_argument("--out", required=True, help="model directory to write (may be A)")
    ap.add_argument("--recipe", help="config.json's recipe name (default \"<A's> and <B's> averaged\")")
    args = ap.parse_args()
    try:
        cfg = average_dirs(args.a, args.b, args.alpha, args.out, args.recipe)
    except NotAverageable as e:
        raise SystemExit(f"average_models: {e}") from None
    print(f"{args.out}: {cfg['recipe']}, alpha {args.alpha}")


if __name__ == "__main__":
    main()
