"""Builds a Parakeet-TDT-0.6B-v3-architecture model with NeMo, optionally trains it on synthetic
speech on the CPU, and exports it in the public parakeet-tdt-0.6b-v3 ONNX layout.

    .tools/venv-nemo/bin/python -m models.build_model --size tiny --out models/test/tiny-tdt \
        --train-minutes 20
    .tools/venv-nemo/bin/python -m models.build_model --size full --out .tools/models/full-random

Output directory (what onnx-asr and parakeet-server load):
    encoder-model.onnx (+ encoder-model.onnx.data over 2 GB), decoder_joint-model.onnx,
    encoder-model.int8.onnx, decoder_joint-model.int8.onnx (onnxruntime dynamic quantisation),
    vocab.txt ("<piece> <id>" lines, "<blk> <V>" last), config.json.
    With --nemo-out FILE also the NeMo checkpoint (.nemo) the references are computed from.

Work files (synthetic corpus, tokenizer, checkpoints, logs) go to --work (default
.tools/build-<size>/); training resumes from the last checkpoint there and is deterministic for a
given seed and step count (same data, same order, same initialisation).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import shutil
import sys
import time

import numpy as np

from models import parakeet_arch
from models.export_nemo import quantize_int8, save_graph
from models.synth import (HELDOUT_ESPEAK_VARIANTS, HELDOUT_ESPEAK_VOICES, TRAIN_ESPEAK_VARIANTS,
                          TRAIN_ESPEAK_VOICES, TRAIN_FLITE_VOICES, Voice, synthesize, write_corpus)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

DIGITS = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
EXTRA = ["hundred", "thousand", "point", "minus", "and", "yes", "no"]
ALL_WORDS = DIGITS + ["oh"] + EXTRA

log = logging.getLogger("build_model")


# ----------------------------------------------------------------------------- text and audio

def random_text(rng: random.Random) -> str:
    d = lambda: rng.choice(DIGITS if rng.random() > 0.08 else DIGITS + ["oh"])  # noqa: E731
    r = rng.random()
    if r < 0.50:
        words = [d() for _ in range(rng.randint(1, 7))]
    elif r < 0.60:
        words = [d(), "hundred"] + (["and", d()] if rng.random() < 0.6 else [])
    elif r < 0.68:
        words = [d(), "thousand"] + ([d(), "hundred"] if rng.random() < 0.5 else [])
    elif r < 0.78:
        words = (["minus"] if rng.random() < 0.5 else []) + [d(), "point"] + \
            [d() for _ in range(rng.randint(1, 2))]
    elif r < 0.88:
        words = [rng.choice(["yes", "no"])] + [d() for _ in range(rng.randint(0, 4))]
    else:
        words = [rng.choice(ALL_WORDS) for _ in range(rng.randint(1, 6))]
    return " ".join(words)


def random_voice(rng: random.Random, heldout: bool = False) -> Voice:
    speed = rng.randint(120, 230)
    pitch = rng.randint(20, 80)
    if heldout:
        return Voice("espeak", f"{rng.choice(HELDOUT_ESPEAK_VOICES)}+"
                     f"{rng.choice(HELDOUT_ESPEAK_VARIANTS)}", speed, pitch)
    if rng.random() < 0.12:
        return Voice("flite", rng.choice(TRAIN_FLITE_VOICES), rng.randint(130, 210))
    variant = rng.choice(TRAIN_ESPEAK_VARIANTS)
    name = rng.choice(TRAIN_ESPEAK_VOICES) + (f"+{variant}" if variant else "")
    return Voice("espeak", name, speed, pitch)


def _synth_one(job: tuple) -> dict:
    import soundfile as sf

    idx, seed, out_dir, heldout = job
    rng = random.Random(seed)
    text = random_text(rng)
    voice = random_voice(rng, heldout)
    path = os.path.join(out_dir, f"{idx:05d}.wav")
    synthesize(text, voice, path, pad_start=rng.uniform(0.05, 0.5), pad_end=rng.uniform(0.1, 0.6),
               gain_db=rng.uniform(-12, 2))
    audio, sr = sf.read(path, dtype="int16")
    if rng.random() < 0.5:  # white noise at 15..45 dB SNR, written back as PCM16
        nrng = np.random.default_rng(seed)
        x = audio.astype(np.float64)
        p = np.mean(x ** 2) + 1e-9
        snr = rng.uniform(15, 45)
        x = x + nrng.normal(0, math.sqrt(p / 10 ** (snr / 10)), size=x.shape)
        audio = np.clip(np.round(x), -32768, 32767).astype(np.int16)
        sf.write(path, audio, sr, subtype="PCM_16")
    return {"audio_filepath": path, "duration": round(len(audio) / sr, 4), "text": text,
            "voice": voice.label()}


def make_corpus(out_dir: str, n: int, seed: int, heldout: bool, procs: int = 2) -> str:
    jobs = [(i, seed * 1_000_003 + i, out_dir, heldout) for i in range(n)]
    return write_corpus(out_dir, jobs, _synth_one, procs, chunksize=32, log=log.info)


def read_manifest(path: str) -> list[dict]:
    with open(path) as f:
        return [json.loads(line) for line in f]


# ----------------------------------------------------------------------------- tokenizer

def train_tokenizer(texts: list[str], out_dir: str, vocab_size: int) -> str:
    """SentencePiece BPE made by NeMo's own create_spt_model (as NeMo's
    process_asr_text_tokenizer.py does): <unk> = 0, no bos/eos/pad, tokenizer.model + vocab.txt."""
    from nemo.collections.common.tokenizers.sentencepiece_tokenizer import create_spt_model

    shutil.rmtree(out_dir, ignore_errors=True)
    os.makedirs(out_dir)
    corpus = os.path.join(out_dir, "text_corpus.txt")
    with open(corpus, "w") as f:
        for t in texts:
            f.write(t + "\n")
    create_spt_model(corpus, vocab_size, sample_size=-1, do_lower_case=False, tokenizer_type="bpe",
                     output_dir=out_dir)
    return out_dir


def pseudo_corpus(n_lines: int, seed: int) -> list[str]:
    """Random pseudo-words: enough distinct character n-grams for a large BPE vocabulary (used
    for the untrained mid/full models, whose vocabulary only needs the right size)."""
    rng = random.Random(seed)
    onsets = ["", "b", "c", "d", "f", "g", "h", "j", "k", "l", "m", "n", "p", "qu", "r", "s", "t",
              "v", "w", "x", "y", "z", "br", "ch", "cl", "dr", "fl", "gr", "pl", "pr", "sh", "sk",
              "st", "str", "th", "tr"]
    vowels = ["a", "e", "i", "o", "u", "y", "ai", "ea", "ee", "oo", "ou", "ie"]
    codas = ["", "", "n", "r", "s", "t", "l", "m", "nd", "ng", "st", "ck", "x", "th"]
    words = ["".join(rng.choice(onsets) + rng.choice(vowels) + rng.choice(codas)
                     for _ in range(rng.randint(1, 4))) for _ in range(60000)]
    return [" ".join(rng.choice(words) for _ in range(rng.randint(4, 14))) for _ in range(n_lines)]


# ----------------------------------------------------------------------------- model

def build_nemo_model(size: parakeet_arch.Size, tokenizer_dir: str, dropout: float,
                     spec_augment: dict | None = None):
    from omegaconf import OmegaConf
    from nemo.collections.asr.models import EncDecRNNTBPEModel
    from models.tdt_loss import use_cpu_tdt_loss

    cfg = parakeet_arch.model_config(size, tokenizer_dir, dropout=dropout,
                                     spec_augment=spec_augment)
    model = EncDecRNNTBPEModel(cfg=OmegaConf.create(cfg))
    # The config keeps Parakeet's `tdt` loss (NeMo builds it on the CPU but its Numba kernel
    # refuses to run there); its inner function is replaced by the vectorised TDTLossCPU with the
    # same blank, durations and sigma.
    use_cpu_tdt_loss(model, omega=0.0)
    return model


def count_params(model) -> int:
    return sum(p.numel() for p in model.parameters())


# ----------------------------------------------------------------------------- training

class Batches:
    """Duration-bucketed batches of in-memory PCM16 audio, reshuffled per epoch (seeded)."""

    def __init__(self, rows: list[dict], tokenizer, batch_size: int, seed: int):
        import soundfile as sf

        self.audio = [sf.read(r["audio_filepath"], dtype="int16")[0] for r in rows]
        self.tokens = [tokenizer.text_to_ids(r["text"]) for r in rows]
        self.words = [len(r["text"].split()) for r in rows]
        self.batch_size = batch_size
        self.seed = seed

    def epoch(self, epoch: int, max_words: int | None = None) -> list[list[int]]:
        rng = random.Random(self.seed * 7919 + epoch)
        idx = [i for i in range(len(self.audio)) if max_words is None or self.words[i] <= max_words]
        rng.shuffle(idx)
        # sort within windows of 16 batches by length, then shuffle the batches
        win = self.batch_size * 16
        batches = []
        for s in range(0, len(idx), win):
            chunk = sorted(idx[s:s + win], key=lambda i: len(self.audio[i]))
            batches += [chunk[j:j + self.batch_size] for j in range(0, len(chunk), self.batch_size)]
        batches = [b for b in batches if len(b) == self.batch_size]
        rng.shuffle(batches)
        return batches

    def collate(self, ids: list[int]):
        import torch

        lens = [len(self.audio[i]) for i in ids]
        sig = torch.zeros(len(ids), max(lens))
        for k, i in enumerate(ids):
            sig[k, :lens[k]] = torch.from_numpy(self.audio[i].astype(np.float32) / 32768.0)
        tl = [len(self.tokens[i]) for i in ids]
        # max(1, ...): a batch whose clips are all without speech still has a target axis
        tgt = torch.zeros(len(ids), max(1, *tl), dtype=torch.long)
        for k, i in enumerate(ids):
            tgt[k, :tl[k]] = torch.tensor(self.tokens[i])
        return sig, torch.tensor(lens), tgt, torch.tensor(tl)


def lr_at(step: int, total: int, peak: float, warmup: int, decay_frac: float = 0.15) -> float:
    if step < warmup:
        return peak * (step + 1) / warmup
    decay_start = int(total * (1 - decay_frac))
    if step < decay_start:
        return peak
    return peak * max(0.05, (total - step) / max(1, total - decay_start))


def greedy_batch(model, sig, lens):
    import torch

    with torch.no_grad():
        enc, enc_len = model.forward(input_signal=sig, input_signal_length=lens)
        hyps = model.decoding.rnnt_decoder_predictions_tensor(encoder_output=enc,
                                                              encoded_lengths=enc_len,
                                                              return_hypotheses=False)
    return [h.text for h in hyps]


def word_errors(ref: str, hyp: str) -> int:
    r, h = ref.split(), hyp.split()
    d = list(range(len(h) + 1))
    for i in range(1, len(r) + 1):
        prev, d[0] = d[0], i
        for j in range(1, len(h) + 1):
            cur = min(d[j] + 1, d[j - 1] + 1, prev + (r[i - 1] != h[j - 1]))
            prev, d[j] = d[j], cur
    return d[len(h)]


def evaluate(model, dev: Batches, rows: list[dict]) -> tuple[float, list[tuple[str, str]]]:
    model.eval()
    errs = words = 0
    samples = []
    for s in range(0, len(rows), 16):
        ids = list(range(s, min(len(rows), s + 16)))
        sig, lens, _, _ = dev.collate(ids)
        hyps = greedy_batch(model, sig, lens)
        for i, h in zip(ids, hyps):
            errs += word_errors(rows[i]["text"], h)
            words += len(rows[i]["text"].split())
            if len(samples) < 4:
                samples.append((rows[i]["text"], h))
    model.train()
    return errs / max(1, words), samples


def train(model, train_rows, dev_rows, work: str, minutes: float, batch_size: int, peak_lr: float,
          seed: int, max_steps: int | None, *, warmup: int = 150, curriculum: int = 160,
          curriculum_words: int = 3, eval_every: int = 500, threads: int = 2) -> dict:
    import torch

    torch.set_num_threads(threads)
    ckpt_path = os.path.join(work, "train_state.pt")
    tr = Batches(train_rows, model.tokenizer, batch_size, seed)
    dev = Batches(dev_rows, model.tokenizer, 16, seed)
    opt = torch.optim.AdamW(model.parameters(), lr=peak_lr, betas=(0.9, 0.98), weight_decay=1e-3)
    # Planned step count: from the time budget at the measured speed (first run), fixed after.
    state = {"step": 0, "epoch": 0, "pos": 0, "elapsed": 0.0, "total_steps": max_steps,
             "history": []}
    if os.path.exists(ckpt_path):
        saved = torch.load(ckpt_path, map_location="cpu", weights_only=False)
        model.load_state_dict(saved["model"])
        opt.load_state_dict(saved["opt"])
        state = saved["state"]
        torch.set_rng_state(saved["torch_rng"])
        random.setstate(saved["py_rng"])
        log.info("resumed at step %d (%.1f min trained)", state["step"], state["elapsed"] / 60)
        if max_steps is not None and max_steps != state["total_steps"]:
            # a resumed run may be shortened or lengthened: the new --steps sets the schedule
            log.info("total steps %s -> %d", state["total_steps"], max_steps)
            state["total_steps"] = max_steps

    def save():
        torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "state": state,
                    "torch_rng": torch.get_rng_state(), "py_rng": random.getstate()},
                   ckpt_path + ".tmp")
        os.replace(ckpt_path + ".tmp", ckpt_path)

    model.train()
    t_start = time.time() - state["elapsed"]
    short = lambda: None if state.get("curriculum_done") else curriculum_words  # noqa: E731
    batches = tr.epoch(state["epoch"], short())
    losses = []
    while True:
        total = state["total_steps"]
        if total is not None and state["step"] >= total:
            break
        if total is None and state["step"] == 200:
            state["t200"] = time.time() - t_start
        if total is None and state["step"] == 300:
            # speed measured on full-length batches (after the short-clip curriculum)
            per_step = (time.time() - t_start - state["t200"]) / 100
            left = minutes * 60 - (time.time() - t_start)
            state["total_steps"] = total = 300 + max(0, int(left / (per_step * 1.05)))
            log.info("%.3f s/step -> planning %d steps for %.1f min", per_step, total, minutes)
        if state["step"] >= curriculum and not state.get("curriculum_done"):
            state["curriculum_done"] = True  # from here on: every clip, not only <= 3 words
            state["epoch"] += 1
            state["pos"] = 0
            batches = tr.epoch(state["epoch"], short())
        elif state["pos"] >= len(batches):
            state["epoch"] += 1
            state["pos"] = 0
            batches = tr.epoch(state["epoch"], short())
        ids = batches[state["pos"]]
        state["pos"] += 1
        sig, lens, tgt, tl = tr.collate(ids)
        lr = lr_at(state["step"], total or 10 ** 9, peak_lr, warmup)
        for g in opt.param_groups:
            g["lr"] = lr
        enc, enc_len = model.forward(input_signal=sig, input_signal_length=lens)
        dec, tgt_len, _ = model.decoder(targets=tgt, target_length=tl)
        joint = model.joint(encoder_outputs=enc, decoder_outputs=dec)
        loss = model.loss(log_probs=joint, targets=tgt, input_lengths=enc_len, target_lengths=tgt_len)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        losses.append(float(loss))
        state["step"] += 1
        state["elapsed"] = time.time() - t_start
        if state["step"] % 50 == 0:
            log.info("step %d  loss %.3f  lr %.2e  %.1f min", state["step"],
                     sum(losses[-50:]) / len(losses[-50:]), lr, state["elapsed"] / 60)
        if state["step"] % eval_every == 0 or state["step"] == state["total_steps"]:
            w, samples = evaluate(model, dev, dev_rows)
            state["history"].append({"step": state["step"], "minutes": round(state["elapsed"] / 60, 2),
                                     "loss": round(sum(losses[-50:]) / len(losses[-50:]), 4),
                                     "heldout_wer": round(w, 4)})
            log.info("step %d  held-out WER %.3f  e.g. %s", state["step"], w, samples[:2])
            save()
    save()
    model.eval()
    return state


# ----------------------------------------------------------------------------- export

def write_vocab(model, path: str) -> int:
    sp = model.tokenizer.tokenizer  # sentencepiece.SentencePieceProcessor
    n = sp.get_piece_size()
    with open(path, "w", encoding="utf-8") as f:
        for i in range(n):
            f.write(f"{sp.id_to_piece(i)} {i}\n")
        f.write(f"<blk> {n}\n")
    assert n == model.decoder.blank_idx, (n, model.decoder.blank_idx)
    return n


def export(model, out: str, size_name: str, size: parakeet_arch.Size, extra_config: dict) -> dict:
    os.makedirs(out, exist_ok=True)
    for f in os.listdir(out):
        if f.endswith((".onnx", ".onnx.data")) or f == "vocab.txt":
            os.remove(os.path.join(out, f))
    tmp = os.path.join(out, "_export")
    shutil.rmtree(tmp, ignore_errors=True)
    os.makedirs(tmp)
    model.eval()
    t0 = time.time()
    model.export(os.path.join(tmp, "model.onnx"), check_trace=False)
    written = sorted(os.listdir(tmp))
    log.info("model.export wrote %s in %.1f s", written, time.time() - t0)
    # Over 2 GB torch writes one external-data file per tensor (beside the two graphs); those
    # are merged into one "<graph>.onnx.data" file, as the public export has them.
    external = len(written) > 2
    for name in ("encoder-model.onnx", "decoder_joint-model.onnx"):
        save_graph(os.path.join(tmp, name), os.path.join(out, name),
                   external and name.startswith("encoder"))
    shutil.rmtree(tmp)
    quantize_int8(out, external)
    n_vocab = write_vocab(model, os.path.join(out, "vocab.txt"))
    config = {"model_type": "nemo-conformer-tdt", "features_size": 128, "subsampling_factor": 8,
              "max_tokens_per_step": parakeet_arch.MAX_SYMBOLS}
    config.update(extra_config)
    config.update({"size": size_name, "architecture": parakeet_arch.size_dict(size) |
                   {"vocab_size": n_vocab}, "durations": parakeet_arch.TDT_DURATIONS,
                   "parameters": count_params(model)})
    with open(os.path.join(out, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
        f.write("\n")
    sizes = {f: os.path.getsize(os.path.join(out, f)) for f in sorted(os.listdir(out))}
    log.info("exported to %s: %s", out, sizes)
    return sizes


# ----------------------------------------------------------------------------- main

def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", choices=sorted(parakeet_arch.SIZES), required=True)
    ap.add_argument("--out", required=True, help="model directory to write")
    ap.add_argument("--work", help="work directory (default .tools/build-<size>)")
    ap.add_argument("--train-minutes", type=float, default=0.0,
                    help="train on synthetic speech for about this long (0: random weights)")
    ap.add_argument("--train-steps", type=int, help="train exactly this many steps instead")
    ap.add_argument("--clips", type=int, default=6000, help="synthetic training clips")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--dropout", type=float, default=0.05)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--nemo-out", help="also save the NeMo checkpoint (.nemo) here")
    args = ap.parse_args()

    work = args.work or os.path.join(ROOT, ".tools", f"build-{args.size}")
    os.makedirs(work, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(sys.stdout),
                                  logging.FileHandler(os.path.join(work, "build.log"))])
    import torch
    from lightning.pytorch import seed_everything

    torch.set_num_threads(2)
    size = parakeet_arch.SIZES[args.size]
    trained = args.train_minutes > 0 or (args.train_steps or 0) > 0
    t_all = time.time()

    if trained:
        train_manifest = make_corpus(os.path.join(work, "train"), args.clips, args.seed, False)
        dev_manifest = make_corpus(os.path.join(work, "dev"), 96, args.seed + 1, True)
        train_rows, dev_rows = read_manifest(train_manifest), read_manifest(dev_manifest)
        tok_dir = train_tokenizer([r["text"] for r in train_rows], os.path.join(work, "tokenizer"),
                                  size.vocab_size)
    else:
        tok_dir = train_tokenizer(pseudo_corpus(max(2000, size.vocab_size * 12), args.seed),
                                  os.path.join(work, "tokenizer"), size.vocab_size)

    seed_everything(args.seed, workers=False)
    t0 = time.time()
    model = build_nemo_model(size, tok_dir, args.dropout if trained else 0.1)
    n_params = count_params(model)
    log.info("built %s model: %d parameters, vocabulary %d, in %.1f s", args.size, n_params,
             model.tokenizer.vocab_size, time.time() - t0)

    extra: dict = {"trained": trained}
    if trained:
        state = train(model, train_rows, dev_rows, work, args.train_minutes, args.batch_size,
                      args.lr, args.seed, args.train_steps)
        extra["training"] = {"steps": state["step"], "minutes": round(state["elapsed"] / 60, 1),
                             "batch_size": args.batch_size, "clips": args.clips,
                             "history": state["history"]}
    model.eval()
    if args.nemo_out:
        os.makedirs(os.path.dirname(os.path.abspath(args.nemo_out)), exist_ok=True)
        model.save_to(args.nemo_out)
        log.info("saved %s (%d bytes)", args.nemo_out, os.path.getsize(args.nemo_out))
    export(model, args.out, args.size, size, extra)
    log.info("done in %.1f min", (time.time() - t_all) / 60)


if __name__ == "__main__":
    main()
