"""lab/training/average_models.py averages two exported model directories weight for weight. On the
committed tiny model and a copy of it with every float weight moved: alpha 0 and 1 give back
each end bit for bit, alpha 0.5 gives the mean (of the initializers and of float Constant nodes
such as the positional encoding) and leaves integer tensors alone, the result runs
in ONNX Runtime (fp32 and int8) with outputs between the two ends', and two directories that are
not one architecture and vocabulary are refused with what differs named and nothing written.
Written over a directory, only its model files change.

Run: .tools/venv-nemo/bin/python -m pytest lab/tests/test_average_models.py
"""

import json
import os
import shutil
import sys

import numpy as np
import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

TINY_DIR = os.path.join(ROOT, "models", "test", "tiny-tdt")
GRAPHS = ("encoder-model.onnx", "decoder_joint-model.onnx")

onnx = pytest.importorskip("onnx")
from onnx import numpy_helper  # noqa: E402

from lab.training import average_models  # noqa: E402


def inits(path):
    return {i.name: numpy_helper.to_array(i) for i in onnx.load(path).graph.initializer}


def moved_copy(dst, scale=0.1, seed=7):
    """The tiny model with every float initializer moved by noise of `scale` its spread."""
    shutil.copytree(TINY_DIR, dst)
    rng = np.random.default_rng(seed)
    for name in GRAPHS:
        m = onnx.load(os.path.join(dst, name))
        for i, init in enumerate(list(m.graph.initializer)):
            x = numpy_helper.to_array(init)
            if np.issubdtype(x.dtype, np.floating) and x.size:
                y = (x + rng.normal(0, scale * (x.std() + 1e-3), x.shape)).astype(x.dtype)
                m.graph.initializer[i].CopyFrom(numpy_helper.from_array(y, init.name))
        for node in m.graph.node:  # computed buffers (the positional encoding): last bits only
            t = average_models.float_constant(node)
            if t is not None and name == GRAPHS[0]:
                x = numpy_helper.to_array(t)
                t.CopyFrom(numpy_helper.from_array((x * (1 + 1e-6)).astype(x.dtype), t.name))
        onnx.save_model(m, os.path.join(dst, name))
    with open(os.path.join(dst, "config.json")) as f:
        cfg = json.load(f)
    cfg["recipe"] = "moved"
    with open(os.path.join(dst, "config.json"), "w") as f:
        json.dump(cfg, f)
    return dst


@pytest.fixture(scope="module")
def moved(tmp_path_factory):
    return moved_copy(str(tmp_path_factory.mktemp("m") / "moved"))


def test_alpha_zero_and_one_give_each_end_back(tmp_path, moved):
    for alpha, end in ((0.0, TINY_DIR), (1.0, moved)):
        out = str(tmp_path / f"a{alpha}")
        average_models.average_dirs(TINY_DIR, moved, alpha, out)
        for name in GRAPHS:
            got, want = inits(os.path.join(out, name)), inits(os.path.join(end, name))
            assert got.keys() == want.keys()
            for k in want:
                assert np.array_equal(got[k], want[k]), (alpha, name, k)


def test_half_is_the_mean_and_integers_are_kept(tmp_path, moved):
    out = str(tmp_path / "half")
    cfg = average_models.average_dirs(TINY_DIR, moved, 0.5, out)
    floats = 0
    for name in GRAPHS:
        a, b = inits(os.path.join(TINY_DIR, name)), inits(os.path.join(moved, name))
        got = inits(os.path.join(out, name))
        for k, x in a.items():
            if np.issubdtype(x.dtype, np.floating):
                floats += int(not np.array_equal(x, b[k]))
                np.testing.assert_allclose(got[k], (x.astype(np.float64) + b[k]) / 2, rtol=1e-6,
                                           atol=1e-7)
            else:
                assert np.array_equal(got[k], x), k
    assert floats > 20  # the copy really moved, so the mean is a third point
    consts = 0
    for na, nb, nh in zip(*(onnx.load(os.path.join(d, GRAPHS[0])).graph.node
                            for d in (TINY_DIR, moved, out))):
        ta = average_models.float_constant(na)
        if ta is not None:
            x, y = numpy_helper.to_array(ta), numpy_helper.to_array(average_models.float_constant(nb))
            h = numpy_helper.to_array(average_models.float_constant(nh))
            consts += int(x.size > 1 and not np.array_equal(x, y))
            np.testing.assert_allclose(h, (x.astype(np.float64) + y) / 2, rtol=1e-6, atol=1e-12)
    assert consts >= 1  # the positional encoding, rounded differently, averaged too
    assert cfg["averaged"]["alpha"] == 0.5 and cfg["averaged"]["b"]["recipe"] == "moved"
    with open(os.path.join(out, "config.json")) as f:
        assert json.load(f) == cfg
    for f in ("vocab.txt", "encoder-model.int8.onnx", "decoder_joint-model.int8.onnx"):
        assert os.path.getsize(os.path.join(out, f)) > 0, f


def test_average_runs_and_lies_between_the_ends(tmp_path, moved):
    import onnxruntime as ort

    out = str(tmp_path / "half")
    average_models.average_dirs(TINY_DIR, moved, 0.5, out)
    feats = np.random.default_rng(3).normal(0, 1, (1, 128, 200)).astype(np.float32)
    lens = np.array([200], dtype=np.int64)

    def encode(d, graph="encoder-model.onnx"):
        s = ort.InferenceSession(os.path.join(d, graph), providers=["CPUExecutionProvider"])
        return s.run(None, {"audio_signal": feats, "length": lens})[0]

    ea, eb, eh = encode(TINY_DIR), encode(moved), encode(out)
    assert eh.shape == ea.shape
    # nearer the midpoint of the ends' outputs than either end is
    mid = (ea + eb) / 2
    assert np.abs(eh - mid).mean() < np.abs(ea - mid).mean()
    assert np.abs(eh - mid).mean() < np.abs(eb - mid).mean()
    e8 = encode(out, "encoder-model.int8.onnx")
    assert e8.shape == ea.shape and np.isfinite(e8).all()


def test_refusals_name_what_differs_and_write_nothing(tmp_path, moved):
    out = str(tmp_path / "out")
    os.makedirs(out)
    with open(os.path.join(out, "keep"), "w") as f:
        f.write("was here")

    def refused(a, b, alpha, match):
        with pytest.raises(average_models.NotAverageable, match=match):
            average_models.average_dirs(a, b, alpha, out)
        assert os.listdir(out) == ["keep"]
        assert not os.path.exists(out + ".averaging")

    refused(TINY_DIR, moved, 1.5, "alpha must be between 0 and 1")
    refused(TINY_DIR, str(tmp_path), 0.5, "has no encoder-model.onnx")

    other_vocab = shutil.copytree(moved, str(tmp_path / "vocab"))
    with open(os.path.join(other_vocab, "vocab.txt"), "a") as f:
        f.write("extra 999\n")
    refused(TINY_DIR, other_vocab, 0.5, "vocab.txt differ")

    reshaped = shutil.copytree(moved, str(tmp_path / "reshaped"))
    m = onnx.load(os.path.join(reshaped, GRAPHS[1]))
    big = max(range(len(m.graph.initializer)),
              key=lambda i: numpy_helper.to_array(m.graph.initializer[i]).size)
    init = m.graph.initializer[big]
    x = numpy_helper.to_array(init)
    m.graph.initializer[big].CopyFrom(numpy_helper.from_array(x[:-1].copy(), init.name))
    onnx.save_model(m, os.path.join(reshaped, GRAPHS[1]))
    refused(TINY_DIR, reshaped, 0.5, rf"decoder_joint-model.onnx: initializer {init.name}")

    rewired = shutil.copytree(moved, str(tmp_path / "rewired"))
    m = onnx.load(os.path.join(rewired, GRAPHS[0]))
    m.graph.node[3].op_type = "Identity" if m.graph.node[3].op_type != "Identity" else "Neg"
    onnx.save_model(m, os.path.join(rewired, GRAPHS[0]))
    refused(TINY_DIR, rewired, 0.5, "encoder-model.onnx: the graphs .* differ in their nodes")


def test_command_line_refusal_is_one_line(tmp_path):
    import subprocess

    r = subprocess.run([sys.executable, "-m", "lab.training.average_models",
                        TINY_DIR, str(tmp_path), "--alpha", "0.5", "--out", str(tmp_path / "o")],
                       capture_output=True, text=True, cwd=ROOT)
    assert r.returncode == 1
    assert r.stderr.strip().startswith("average_models: ") and "no encoder-model.onnx" in r.stderr
    assert "Traceback" not in r.stderr


def test_writing_over_a_keeps_its_other_files(tmp_path, moved):
    a = shutil.copytree(TINY_DIR, str(tmp_path / "a"))
    with open(os.path.join(a, "README.md"), "w") as f:
        f.write("kept")
    before = inits(os.path.join(a, GRAPHS[0]))
    cfg = average_models.average_dirs(a, moved, 0.5, a, recipe="mix")
    assert cfg["recipe"] == "mix" and cfg["averaged"]["a"]["dir"] == "a"
    with open(os.path.join(a, "README.md")) as f:
        assert f.read() == "kept"
    after = inits(os.path.join(a, GRAPHS[0]))
    assert any(not np.array_equal(before[k], after[k]) for k in before)
    assert sorted(os.listdir(tmp_path)) == ["a"]  # no work directory left beside it
