"""Whether two ONNX files are the same model up to float32 rounding: the same nodes in the same
order, the same initializer names, shapes and types, integer tensors equal (quantised weights to
one step), and float tensors, initializers and Constant values alike, within a few ULPs.

    python -m models.onnx_same_model A.onnx B.onnx   (from the repository root)

Prints "same model" and exits 0, or prints each difference and exits 1.

Why not bytes: torch computes the folded BatchNorm weights and the positional-encoding table at
export time with vectorised kernels that round differently from one CPU to another (seen here: the
tiny model's export on an Intel Xeon differs from the committed one, made on an AMD EPYC, by at most
4.8e-7 in 141 of 864 weights of one convolution).
"""

import sys

import numpy as np
import onnx
from onnx import numpy_helper

ATOL, RTOL = 2e-6, 1e-5


def float_constant(node):
    """The float tensor a Constant node holds (a computed buffer such as the positional encoding,
    which two exports may round differently in the last bits), or None."""
    from onnx import TensorProto

    if node.op_type != "Constant" or len(node.attribute) != 1 or node.attribute[0].name != "value":
        return None
    t = node.attribute[0].t
    return t if t.data_type in (TensorProto.FLOAT, TensorProto.FLOAT16, TensorProto.DOUBLE) else None


def graph_structure(graph) -> list:
    """What must be equal for two graphs to be one architecture: every node's type, inputs,
    outputs and attributes, in order; of a float Constant, its shape and type."""
    out = []
    for n in graph.node:
        t = float_constant(n)
        attrs = [(t.data_type, list(t.dims))] if t is not None else \
            [a.SerializeToString() for a in n.attribute]
        out.append((n.op_type, list(n.input), list(n.output), attrs))
    return out


def tensors(graph) -> dict:
    out = {i.name: numpy_helper.to_array(i) for i in graph.initializer}
    for n in graph.node:
        t = float_constant(n)
        if t is not None:
            out["Constant " + n.output[0]] = numpy_helper.to_array(t)
    return out


def differences(path_a: str, path_b: str) -> list[str]:
    a, b = onnx.load(path_a).graph, onnx.load(path_b).graph
    if graph_structure(a) != graph_structure(b):
        return ["the nodes differ"]
    ta, tb = tensors(a), tensors(b)
    if ta.keys() != tb.keys():
        return [f"tensors in one file only: {sorted(set(ta) ^ set(tb))[:5]}"]
    diffs = []
    for k, x in ta.items():
        y = tb[k]
        if x.shape != y.shape or x.dtype != y.dtype:
            diffs.append(f"{k}: {x.dtype}{list(x.shape)} against {y.dtype}{list(y.shape)}")
        elif np.issubdtype(x.dtype, np.floating):
            if not np.allclose(x, y, atol=ATOL, rtol=RTOL):
                diffs.append(f"{k}: floats differ by up to {np.abs(x.astype(float) - y).max():.3g}")
        elif x.dtype in (np.uint8, np.int8):
            if np.abs(x.astype(int) - y.astype(int)).max(initial=0) > 1:
                diffs.append(f"{k}: quantised weights differ by more than one step")
        elif not np.array_equal(x, y):
            diffs.append(f"{k}: {x.dtype} values differ")
    return diffs


if __name__ == "__main__":
    found = differences(sys.argv[1], sys.argv[2])
    print("\n".join(found) if found else "same model")
    sys.exit(1 if found else 0)
