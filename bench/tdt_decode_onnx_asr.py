"""Tokens/s of onnx-asr's greedy TDT decoding loop (Python, one utterance and one joint call at
a time) on the encoder output of the given clips; the encoder is run first and not timed.
Prints one JSON object. Usage: .tools/venv-check/bin/python bench/tdt_decode_onnx_asr.py MODEL_DIR REPEAT WAV...
"""
import json
import sys
import time
import wave

import numpy as np
import onnx_asr
import onnxruntime as rt

model_dir, repeat, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
opts = rt.SessionOptions()
opts.intra_op_num_threads = 1
asr = onnx_asr.load_model("nemo-conformer-tdt", model_dir, sess_options=opts).asr
clips = []
for f in files:
    with wave.open(f) as w:
        clips.append(np.frombuffer(w.readframes(w.getnframes()), dtype=np.int16).astype(np.float32) / 32768)
clips = clips * repeat
n = max(len(c) for c in clips)
waves = np.zeros((len(clips), n), dtype=np.float32)
for i, c in enumerate(clips):
    waves[i, : len(c)] = c
lens = np.array([len(c) for c in clips], dtype=np.int64)
enc, enc_lens = asr._encode(*asr._preprocessor(waves, lens))
t0 = time.perf_counter()
results = list(asr._decoding(enc, enc_lens))
dt = time.perf_counter() - t0
tokens = sum(len(list(r[0])) for r in results)
frames = int(enc_lens.sum())
print(json.dumps({
    "decoder": "onnx-asr 0.12.0 (Python loop, onnxruntime " + rt.__version__ + ", 1 thread)",
    "utterances": len(clips), "tokens": tokens, "encoder_frames": frames,
    "decode_s": round(dt, 4), "tokens_per_s": round(tokens / dt, 1),
    "frames_per_s": round(frames / dt, 1),
}))
