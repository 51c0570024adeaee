"""Counts the multiply-adds of an exported encoder per second of audio, from its ONNX graph.

    .tools/venv-nemo/bin/python bench/encoder_flops.py DIR [--seconds 10]

Loads the graph without its weights, fixes the input to [1, 128, 100·seconds] feature frames,
infers every shape, and sums 2·M·N·K for MatMul/Gemm and 2·out·(in/groups)·kernel for Conv.
Elementwise ops, softmax and norms are left out (a few percent of the total). Prints JSON.
"""

import argparse
import json
import math

import onnx
from onnx import shape_inference


def dims(vi):
    return [d.dim_value if d.HasField("dim_value") else None for d in vi.type.tensor_type.shape.dim]


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("dir")
    p.add_argument("--seconds", type=float, default=10.0)
    args = p.parse_args()
    frames = int(args.seconds * 100)
    # Weights are loaded too: shape inference reads a few initializers as values.
    model = onnx.load(f"{args.dir}/encoder-model.onnx")
    g = model.graph
    for inp in g.input:
        shape = inp.type.tensor_type.shape.dim
        if inp.name == "audio_signal":
            shape[0].dim_value, shape[1].dim_value, shape[2].dim_value = 1, 128, frames
        elif inp.name == "length":
            shape[0].dim_value = 1
    # ONNX's own inference stops at the dynamic reshapes; ONNX Runtime's symbolic inference
    # follows them.
    try:
        from onnxruntime.tools.symbolic_shape_infer import SymbolicShapeInference
        inferred = SymbolicShapeInference.infer_shapes(model, auto_merge=True)
    except Exception:  # noqa: BLE001 - fall back to ONNX's inference
        inferred = shape_inference.infer_shapes(model, data_prop=True)
    shapes = {vi.name: dims(vi) for vi in list(inferred.graph.value_info) + list(inferred.graph.input)
              + list(inferred.graph.output)}
    for init in inferred.graph.initializer:
        shapes[init.name] = list(init.dims)
    flops = {"MatMul": 0, "Gemm": 0, "Conv": 0}
    unknown = 0
    for node in inferred.graph.node:
        if node.op_type in ("MatMul", "Gemm"):
            a, b = shapes.get(node.input[0]), shapes.get(node.input[1])
            out = shapes.get(node.output[0])
            if not a or not b or not out or None in a + b + out:
                unknown += 1
                continue
            k = a[-1] if node.op_type == "MatMul" else (a[0] if any(x.name == "transA" and x.i for x in node.attribute) else a[-1])
            flops[node.op_type] += 2 * math.prod(out) * k
        elif node.op_type == "Conv":
            w, out = shapes.get(node.input[1]), shapes.get(node.output[0])
            if not w or not out or None in w + out:
                unknown += 1
                continue
            flops["Conv"] += 2 * math.prod(out) * math.prod(w[1:])
    total = sum(flops.values())
    print(json.dumps({
        "model": args.dir,
        "window_seconds": args.seconds,
        "flops_by_op": flops,
        "gflops_per_window": round(total / 1e9, 2),
        "gflops_per_audio_second": round(total / 1e9 / args.seconds, 2),
        "nodes_without_shapes": unknown,
    }))


main()
