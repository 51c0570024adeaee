"""Exports a NeMo TDT checkpoint (.nemo) into a parakeet-server model directory: the public
parakeet-tdt-0.6b-v3 ONNX layout that onnx-asr and parakeet-server load. It is build_model.py's
export step, generalised to any .nemo of the FastConformer-TDT family (NVIDIA's
parakeet-tdt-0.6b-v3.nemo included, and models fine-tuned from it).

    .tools/venv-nemo/bin/python -m models.export_nemo parakeet-tdt-0.6b-v3.nemo --out DIR
    .tools/venv-nemo/bin/python -m models.export_nemo CKPT.nemo --out DIR --no-int8

Writes into DIR:
    encoder-model.onnx (+ encoder-model.onnx.data when over 2 GB), decoder_joint-model.onnx,
    encoder-model.int8.onnx, decoder_joint-model.int8.onnx (onnxruntime dynamic quantisation,
    unless --no-int8), vocab.txt ("<piece> <id>" lines, "<blk> <V>" last), config.json.

Everything is written to DIR.partial/ first and renamed to DIR at the end, so DIR is never a
half-written model. An existing DIR is refused unless --force (then it is replaced whole).
Needs the NeMo environment: bash models/setup_nemo_env.sh (→ .tools/venv-nemo).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import sys
import time

log = logging.getLogger("export_nemo")


class ExportError(Exception):
    pass


def write_vocab(model, path: str) -> int:
    """vocab.txt as onnx-asr reads it: every SentencePiece piece and its id, the blank last."""
    sp = model.tokenizer.tokenizer
    n = sp.get_piece_size()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(f"{sp.id_to_piece(i)} {i}\n")
        f.write(f"<blk> {n}\n")
    if n != model.decoder.blank_idx:
        raise ExportError(f"the blank id is {model.decoder.blank_idx}, expected {n} (after every piece)")
    return n


def model_facts(model) -> dict:
    """What config.json says about the model, read from its own NeMo config."""
    cfg = model.cfg
    durations = list(cfg.get("model_defaults", {}).get("tdt_durations", []) or
                     cfg.get("loss", {}).get("tdt_kwargs", {}).get("durations", []) or [])
    if not durations:
        raise ExportError("the checkpoint has no TDT durations (model_defaults.tdt_durations): "
                          "only TDT models are supported")
    features = int(cfg.preprocessor.get("features", 0))
    if features != 128:
        raise ExportError(f"the preprocessor has {features} mel features; parakeet-server's "
                          "feature extractor is NeMo's 128-mel one")
    greedy = cfg.get("decoding", {}).get("greedy", {}) or {}
    return {
        "model_type": "nemo-conformer-tdt",
        "features_size": features,
        "subsampling_factor": int(cfg.encoder.get("subsampling_factor", 8)),
        "max_tokens_per_step": int(greedy.get("max_symbols", 10) or 10),
        "durations": durations,
        # The encoder's relative positional table: the server keeps every window within it.
        "pos_emb_max_len": int(cfg.encoder.get("pos_emb_max_len", 5000)),
    }


def save_graph(src: str, dst: str, external: bool) -> None:
    """Rewrites the ONNX graph `src` (as torch exported it) to `dst`: one file, or with
    `external` every tensor of 1 kB or more in one "<dst name>.data" file beside it, as the
    public export keeps the full-size encoder (torch's one file per tensor merged)."""
    import onnx

    m = onnx.load(src, load_external_data=True)
    if external:
        onnx.save_model(m, dst, save_as_external_data=True, all_tensors_to_one_file=True,
                        location=os.path.basename(dst) + ".data", size_threshold=1024)
    else:
        onnx.save_model(m, dst)


def quantize_int8(out: str, external: bool) -> None:
    """encoder-model.int8.onnx and decoder_joint-model.int8.onnx beside the fp32 graphs in `out`
    (onnxruntime dynamic quantisation, weights uint8). `external`: the fp32 encoder keeps its
    weights in encoder-model.onnx.data (over 2 GB)."""
    import onnx
    from onnxruntime.quantization import QuantType, quantize_dynamic

    for name in ("encoder-model", "decoder_joint-model"):
        big = external and name == "encoder-model"
        dst = os.path.join(out, f"{name}.int8.onnx")
        quantize_dynamic(os.path.join(out, f"{name}.onnx"), dst, weight_type=QuantType.QUInt8,
                         use_external_data_format=big)
        if big:  # the int8 graph is under 2 GB: one file, as the public export has it
            onnx.save_model(onnx.load(dst, load_external_data=True), dst + ".tmp")
            for f in os.listdir(out):
                if f.startswith(f"{name}.int8.onnx") and f != f"{name}.int8.onnx.tmp":
                    os.remove(os.path.join(out, f))
            os.replace(dst + ".tmp", dst)


def export_model_dir(model, out: str, int8: bool = True, extra_config: dict | None = None) -> dict:
    """Exports `model` (a NeMo EncDecRNNTBPEModel with a TDT head) into the directory `out`,
    which must not exist; returns {file: bytes}."""
    tmp = os.path.join(out, "_export")
    os.makedirs(tmp)
    model.eval()
    t0 = time.time()
    model.export(os.path.join(tmp, "model.onnx"), check_trace=False)
    written = sorted(os.listdir(tmp))
    log.info("model.export wrote %s in %.1f s", written, time.time() - t0)
    for name in ("encoder-model.onnx", "decoder_joint-model.onnx"):
        if name not in written:
            raise ExportError(f"NeMo's exporter wrote {written}, without {name}: not an RNNT/TDT model?")
    # Over 2 GB torch writes one external-data file per tensor; they are merged into one
    # "<graph>.onnx.data" file, as the public export has them.
    external = len(written) > 2
    for name in ("encoder-model.onnx", "decoder_joint-model.onnx"):
        save_graph(os.path.join(tmp, name), os.path.join(out, name),
                   external and name.startswith("encoder"))
    shutil.rmtree(tmp)
    if int8:
        quantize_int8(out, external)
    n_vocab = write_vocab(model, os.path.join(out, "vocab.txt"))
    config = model_facts(model)
    config.update({"vocab_size": n_vocab,
                   "parameters": sum(p.numel() for p in model.parameters())})
    config.update(extra_config or {})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    return {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("checkpoint", help="the .nemo file")
    ap.add_argument("--out", required=True, help="model directory to create")
    ap.add_argument("--no-int8", action="store_true", help="skip the int8 files")
    ap.add_argument("--force", action="store_true", help="replace --out if it exists")
    args = ap.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")

    if not os.path.isfile(args.checkpoint):
        print(f"export_nemo: {args.checkpoint}: no such file (expected a .nemo checkpoint)", file=sys.stderr)
        return 2
    out = os.path.abspath(args.out)
    if os.path.exists(out) and not args.force:
        print(f"export_nemo: {out} already exists; choose another --out or pass --force to replace it",
              file=sys.stderr)
        return 2
    partial = out + ".partial"
    shutil.rmtree(partial, ignore_errors=True)
    os.makedirs(os.path.dirname(out) or ".", exist_ok=True)
    os.makedirs(partial)
    try:
        import torch
        from nemo.collections.asr.models import ASRModel

        torch.set_num_threads(max(1, min(4, os.cpu_count() or 1)))
        t0 = time.time()
        model = ASRModel.restore_from(args.checkpoint, map_location="cpu")
        log.info("loaded %s (%s) in %.1f s", args.checkpoint, type(model).__name__, time.time() - t0)
        if not hasattr(model, "tokenizer") or not hasattr(model, "joint"):
            raise ExportError(f"{type(model).__name__} is not a BPE transducer (RNNT/TDT) model")
        sizes = export_model_dir(model, partial, int8=not args.no_int8,
                                 extra_config={"source": os.path.basename(args.checkpoint)})
    except ExportError as e:
        shutil.rmtree(partial, ignore_errors=True)
        print(f"export_nemo: {args.checkpoint}: {e}", file=sys.stderr)
        return 1
    except BaseException:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    if os.path.exists(out):
        shutil.rmtree(out)
    os.replace(partial, out)
    log.info("exported to %s: %s", out, sizes)
    print(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
