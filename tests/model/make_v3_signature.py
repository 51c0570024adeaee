"""
A model directory with Parakeet-TDT-0.6B-v3's exact I/O signature and file layout, but tiny
random graphs: the encoder takes every 8th feature frame through one projection to 1024 wide,
the joint adds an encoder and a target projection to 8198 logits (8193 tokens + 5 durations).
Its vocab.txt has v3's 8193 lines with the special pieces first and `<blk>` last, its
config.json exactly the three keys of the public export. Not committed: the tests make it.

    python make_v3_signature.py OUT_DIR
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

VOCAB_LINES = 8193  # pieces 0..8191 and <blk> 8192
DURATIONS = 5
ENCODER_DIM = 1024
PRED_HIDDEN = 640
STATE_LAYERS = 2
SPECIALS = [
    "<unk>", "<|nospeech|>", "<pad>", "<|endoftext|>", "<|startoftranscript|>", "<|pnc|>",
    "<|nopnc|>", "<|itn|>", "<|noitn|>", "<|timestamp|>", "<|notimestamp|>", "<|diarize|>",
    "<|nodiarize|>", "<|spkchange|>", "<|audioseparator|>", "<|emo:undefined|>",
]


def vocabulary() -> list[str]:
    pieces = list(SPECIALS)
    pieces += [f"<0x{b:02X}>" for b in range(256)]
    pieces += ["▁", ".", ",", "?", "!", "¿", "¡", "▁¿", "▁!", ":", ";", "'"]
    words = ["hello", "world", "bonjour", "dijo", "qué", "gut", "straße", "ça", "va", "one", "two"]
    pieces += ["▁" + w for w in words] + words
    n = 0
    while len(pieces) < VOCAB_LINES - 1:
        pieces.append(("▁" if n % 3 == 0 else "") + f"p{n}")
        n += 1
    return pieces + ["<blk>"]


def encoder(rng: np.random.Generator) -> onnx.ModelProto:
    w = numpy_helper.from_array((rng.standard_normal((128, ENCODER_DIM)) * 0.1).astype(np.float32), "w")
    nodes = [
        helper.make_node("Constant", [], ["starts"], value=numpy_helper.from_array(np.array([0], np.int64))),
        helper.make_node("Constant", [], ["ends"], value=numpy_helper.from_array(np.array([2**62], np.int64))),
        helper.make_node("Constant", [], ["axes"], value=numpy_helper.from_array(np.array([2], np.int64))),
        helper.make_node("Constant", [], ["steps"], value=numpy_helper.from_array(np.array([8], np.int64))),
        helper.make_node("Slice", ["audio_signal", "starts", "ends", "axes", "steps"], ["sub"]),
        helper.make_node("Transpose", ["sub"], ["btf"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["btf", "w"], ["proj"]),
        helper.make_node("Tanh", ["proj"], ["act"]),
        helper.make_node("Transpose", ["act"], ["outputs"], perm=[0, 2, 1]),
        # ceil(length / 8): three stride-2 convolutions, as the real subsampling has it.
        helper.make_node("Constant", [], ["seven"], value=numpy_helper.from_array(np.array(7, np.int64))),
        helper.make_node("Constant", [], ["eight"], value=numpy_helper.from_array(np.array(8, np.int64))),
        helper.make_node("Add", ["length", "seven"], ["len7"]),
        helper.make_node("Div", ["len7", "eight"], ["encoded_lengths"]),
    ]
    graph = helper.make_graph(
        nodes,
        "encoder",
        [
            helper.make_tensor_value_info("audio_signal", TensorProto.FLOAT, ["batch", 128, "time"]),
            helper.make_tensor_value_info("length", TensorProto.INT64, ["batch"]),
        ],
        [
            helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["batch", ENCODER_DIM, "frames"]),
            helper.make_tensor_value_info("encoded_lengths", TensorProto.INT64, ["batch"]),
        ],
        [w],
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def joint(rng: np.random.Generator, blank: int, favoured: list[int]) -> onnx.ModelProto:
    width = VOCAB_LINES + DURATIONS
    we = (rng.standard_normal((ENCODER_DIM, width)) * 0.02).astype(np.float32)
    emb = (rng.standard_normal((VOCAB_LINES, PRED_HIDDEN)) * 0.02).astype(np.float32)
    wp = (rng.standard_normal((PRED_HIDDEN, width)) * 0.02).astype(np.float32)
    bias = np.zeros(width, np.float32)
    # Mostly blank, some tokens: the favoured pieces (markers and bytes among them) get emitted.
    bias[blank] = 1.0
    bias[favoured] = 1.2
    bias[VOCAB_LINES + 1] = 0.5  # duration 1: time moves on
    inits = [
        numpy_helper.from_array(we, "we"),
        numpy_helper.from_array(emb, "emb"),
        numpy_helper.from_array(wp, "wp"),
        numpy_helper.from_array(bias, "bias"),
    ]
    nodes = [
        helper.make_node("Transpose", ["encoder_outputs"], ["enc"], perm=[0, 2, 1]),
        helper.make_node("MatMul", ["enc", "we"], ["from_enc"]),
        helper.make_node("Gather", ["emb", "targets"], ["embedded"], axis=0),
        helper.make_node("MatMul", ["embedded", "wp"], ["from_pred"]),
        helper.make_node("Add", ["from_enc", "from_pred"], ["summed"]),
        helper.make_node("Add", ["summed", "bias"], ["logits"]),
        helper.make_node("Constant", [], ["axis2"], value=numpy_helper.from_array(np.array([2], np.int64))),
        helper.make_node("Unsqueeze", ["logits", "axis2"], ["outputs"]),
        helper.make_node("Identity", ["target_length"], ["prednet_lengths"]),
        helper.make_node("Tanh", ["input_states_1"], ["output_states_1"]),
        helper.make_node("Identity", ["input_states_2"], ["output_states_2"]),
    ]
    states = [STATE_LAYERS, "batch", PRED_HIDDEN]
    graph = helper.make_graph(
        nodes,
        "decoder_joint",
        [
            helper.make_tensor_value_info("encoder_outputs", TensorProto.FLOAT, ["batch", ENCODER_DIM, 1]),
            helper.make_tensor_value_info("targets", TensorProto.INT32, ["batch", 1]),
            helper.make_tensor_value_info("target_length", TensorProto.INT32, ["batch"]),
            helper.make_tensor_value_info("input_states_1", TensorProto.FLOAT, states),
            helper.make_tensor_value_info("input_states_2", TensorProto.FLOAT, states),
        ],
        [
            helper.make_tensor_value_info("outputs", TensorProto.FLOAT, ["batch", 1, 1, width]),
            helper.make_tensor_value_info("prednet_lengths", TensorProto.INT32, ["batch"]),
            helper.make_tensor_value_info("output_states_1", TensorProto.FLOAT, states),
            helper.make_tensor_value_info("output_states_2", TensorProto.FLOAT, states),
        ],
        inits,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=8)


def main() -> None:
    out = sys.argv[1]
    rng = np.random.default_rng(3)
    pieces = vocabulary()
    assert len(pieces) == VOCAB_LINES
    favoured = [pieces.index(p) for p in ["<|nospeech|>", "<unk>", "<|pnc|>", "▁hello", ",", "▁dijo", "▁¿", "qué", "?"]]
    favoured += [pieces.index("<0xC3>"), pieces.index("<0xA9>")]
    # The encoder's weights go to an external data file, as the real 2.4 GB export's do.
    onnx.save(encoder(rng), f"{out}/encoder-model.onnx", save_as_external_data=True,
              all_tensors_to_one_file=True, location="encoder-model.onnx.data", size_threshold=0)
    onnx.save(joint(rng, VOCAB_LINES - 1, favoured), f"{out}/decoder_joint-model.onnx")
    with open(f"{out}/vocab.txt", "w", encoding="utf-8") as f:
        for i, p in enumerate(pieces):
            f.write(f"{p} {i}\n")
    with open(f"{out}/config.json", "w") as f:
        f.write('{"model_type": "nemo-conformer-tdt", "features_size": 128, "subsampling_factor": 8}\n')


if __name__ == "__main__":
    main()
