"""Trains the demo model (Parakeet-TDT-0.6B-v3's architecture, `demo` size) on synthetic speech
on the CPU and exports it in the public parakeet-tdt-0.6b-v3 ONNX layout to models/demo.

    .tools/venv-nemo/bin/python -m lab.training.train_demo --stage 1 --out models/demo --steps 3600

Stage 1 is digits (zero..nine and "oh"). Work files go to .tools/demo-stage<N>/: the synthetic
corpora (training, a 96-clip held-out set watched during training, and two 400-clip held-out
evaluation sets `lab/demo-model/demo_eval.ts` reads, augmented and clean), the tokenizer, the
`train_state.pt` checkpoint (rerunning the same command resumes from it) and `train.log`.
Deterministic for a given seed and step count: same data, order and initialisation.

Stage 1b fine-tunes stage 1 (all of it, with its tokenizer) on 6,000 new digit clips: flite 30%,
festival 25%, their training voices shifted up to 700 cents higher, 5% of clips without speech.
Stage 1c fine-tunes 1b on stage 1's clips, 1b's and 6,000 new ones made as 1b's were. Both keep
stage 1's held-out sets. Stage 1d fine-tunes 1c on all of those and 8,000 clips of its own, whose
flite and festival voices also speak at a woman's pitch (demo_data.TRAIN_F0) and whose festival
voices speak at varied rates, as every voice of its held-out sets does (demo_data.FESTIVAL_OWN_RATE).
Stage 1e fine-tunes 1c on the same clips as 1d, with SpecAugment. After it: 1f (1e continued; not
shipped), 1g (1e on stages 1 and 1d and clips of its own where festival also speaks with its voices
of other languages, reading respelled digits; not shipped), 1h (1g's recipe on every stage-1
corpus). The shipped model, stage 1i, is 1e and 1h averaged weight for weight
(lab/training/average_models.py). The chain (lab/demo-model/README.md):

    T=.tools/venv-nemo/bin/python
    $T -m lab.training.train_demo --stage 1 --out .tools/demo-1-out --steps 3600
    $T -m lab.training.train_demo --stage 1b --init-from .tools/demo-1-out --out .tools/demo-1b-out \
        --steps 2000 --lr 5e-4 --curriculum-steps 0
    $T -m lab.training.train_demo --stage 1c --init-from .tools/demo-1b-out --out .tools/demo-1c-out \
        --steps 2000 --lr 4e-4 --curriculum-steps 0
    $T -m lab.training.train_demo --stage 1e --init-from .tools/demo-1c-out --out .tools/demo-1e-out \
        --steps 1500 --lr 3e-4 --curriculum-steps 0
    $T -m lab.training.train_demo --stage 1h --init-from .tools/demo-1e-out --out .tools/demo-1h-out \
        --steps 1500 --lr 3e-4 --curriculum-steps 0
    $T -m lab.training.average_models .tools/demo-1e-out .tools/demo-1h-out --alpha 0.5 --recipe 1i \
        --out models/demo

--init-from takes a .nemo or an exported model directory: its graphs are read back into NeMo
(models/onnx_weights.py), and stage 1's tokenizer, when .tools/demo-stage1/tokenizer is gone, is
made again from stage 1's texts and checked piece for piece against the directory's vocab.txt.

Stage 2 (numbers as people say them, letters, common words; a 256-piece vocabulary) starts from
stage 1's encoder with --init-from .tools/demo-stage1/model.nemo.

Recipe: pure TDT loss (models/tdt_loss.py,
sigma 0.02); batch 32 in shuffled duration buckets; AdamW, warmup 150 steps, then a constant
learning rate, linear decay over the last 15%; dropout 0.05; clips of at most 3 words for the
first 300 steps; gradient clipping 1.0; 2 threads.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import time

from lab.training import demo_data
from models import build_model, parakeet_arch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

log = logging.getLogger("train_demo")

# Every stage-1 recipe: the digits, stage 1's size and vocabulary, and its streaming defaults, from
# lab/demo-model/demo_eval.ts on the held-out set (lab/demo-model/stage-1i/): 160 ms of right
# context costs 3 points of WER against offline, 480 ms none.
DIGITS = {"size": "demo", "vocab": 56, "what": "digits zero..nine and oh",
          "streaming_defaults": {"RIGHT_CONTEXT_MS": 480}}
# Two frequency masks of up to 15 of the 128 mel bands, two time masks of up to 5%.
SPEC_AUGMENT = {"freq_masks": 2, "freq_width": 15, "time_masks": 2, "time_width": 0.05}

STAGES = {
    1: {**DIGITS, "clips": 8000},
    # Stage 1 fine-tuned (--init-from stage 1's .nemo, every tensor, its tokenizer): more flite and
    # festival, their voices shifted further up in pitch, 5% of clips without speech.
    "1b": {**DIGITS, "clips": 6000, "fine_tunes": 1, "train_seed_offset": 10},
    # Stage 1b continued (--init-from its exported model) on stage 1's 8,000 training clips, stage
    # 1b's 6,000 and 6,000 new ones made as 1b's were: 1b had forgotten some espeak-ng (0.4% ->
    # 1.4% held out) while it learned flite and festival, and had heard its own clips 11 times.
    "1c": {**DIGITS, "clips": 6000, "fine_tunes": "1b", "tokenizer_of": 1,
           "corpora": [1, "1b", "1c"], "train_seed_offset": 20},
    # Stage 1c continued (--init-from its exported model) on the clips of stages 1, 1b, 1c and 8,000
    # of its own whose flite and festival training voices also speak at a woman's pitch, and with
    # festival's rate varied (demo_data.TRAIN_F0, FESTIVAL_OWN_RATE): 1c's errors were on `slt`.
    "1d": {**DIGITS, "clips": 8000, "fine_tunes": "1c", "tokenizer_of": 1,
           "corpora": [1, "1b", "1c", "1d"], "train_seed_offset": 30},
    # Stage 1c continued on stage 1d's clips with SpecAugment: 1d's pitch targets helped flite's
    # `slt` and not festival's `ked_diphone`, a man like the training voices; masking bands is the
    # usual way to hear past one speaker's formants. Its held-out sets are 1d's (`data_of`).
    "1e": {**DIGITS, "fine_tunes": "1c", "tokenizer_of": 1, "corpora": [1, "1b", "1c", "1d"],
           "data_of": "1d", "spec_augment": SPEC_AUGMENT},
    # Stage 1e continued as it was trained: its loss on masked features was still falling.
    "1f": {**DIGITS, "fine_tunes": "1e", "tokenizer_of": 1, "corpora": [1, "1b", "1c", "1d"],
           "data_of": "1d", "spec_augment": SPEC_AUGMENT},
    # Stage 1e continued on the clips of stages 1 and 1d and 10,000 of its own where festival also
    # speaks with eight voices of other languages reading respelled digits
    # (demo_data.FOREIGN_FESTIVAL_VOICES): 1e's errors are on unseen English speakers of the two
    # families it heard few speakers of, and 1f showed more passes over the same ones gain nothing.
    "1g": {**DIGITS, "clips": 10000, "fine_tunes": "1e", "tokenizer_of": 1,
           "corpora": [1, "1d", "1g"], "data_of": "1d", "spec_augment": SPEC_AUGMENT,
           "train_seed_offset": 40},
    # Stage 1e continued on every stage-1 corpus, 1g's with them: 1g heard festival's `ked_diphone`
    # better than 1e (32 errors against 39 on the three held-out sets) and both `slt` voices worse
    # (114 against 78), having left out stages 1b and 1c, whose flite and festival men are shifted
    # up to 700 cents, nearly a woman's formants.
    "1h": {**DIGITS, "fine_tunes": "1e", "tokenizer_of": 1,
           "corpora": [1, "1b", "1c", "1d", "1g"], "data_of": "1d", "spec_augment": SPEC_AUGMENT},
    # 4% of stage 2's training clips are noise, hum or near-silence transcribed as nothing.
    2: {"size": "demo", "vocab": 256, "clips": 12000,
        "what": "digits, numbers as people say them, letters and common words"},
}


def init_from(model, source: str, everything: bool, calibration_rows: list[dict]) -> int:
    """Starts from another model: its preprocessor and encoder (the acoustics it learned), the
    prediction network and joint fresh when the vocabulary differs; every tensor when
    `everything` (a fine-tune with the same tokenizer). `source` is a .nemo, or an exported
    model directory (models/demo) whose graphs are read back (models/onnx_weights.py)."""
    if os.path.isdir(source):
        if not everything:
            raise SystemExit("an exported model directory can only be fine-tuned (stage 1b)")
        from models import onnx_weights

        batches = build_model.Batches(calibration_rows, model.tokenizer, 32, 0)
        calib = [batches.collate(ids)[:2] for ids in batches.epoch(0)[:4]]
        got = onnx_weights.load_exported(model, source, calib)
        log.info("from the graphs in %s: %s", source, got)
        return got["tensors"]
    from nemo.collections.asr.models import EncDecRNNTBPEModel

    src = EncDecRNNTBPEModel.restore_from(source, map_location="cpu").state_dict()
    own = model.state_dict()
    taken = {k: v for k, v in src.items()
             if (everything or k.startswith(("encoder.", "preprocessor.")))
             and k in own and own[k].shape == v.shape}
    if everything and len(taken) != len(own):
        raise SystemExit(f"{source} is not this model: {len(taken)} of {len(own)} tensors fit")
    model.load_state_dict(taken, strict=False)
    return len(taken)


def train_seed_of(stage: int | str, seed: int) -> int:
    """A fine-tune hears clips of its own: its training corpus has a seed of its own."""
    return seed + STAGES[stage].get("train_seed_offset", 0)


def make_training_corpus(stage: int | str, seed: int, procs: int) -> str:
    """Stage `stage`'s training clips in its own work directory, as its own run makes them."""
    return demo_data.make_corpus(os.path.join(ROOT, ".tools", f"demo-stage{stage}", "train"),
                                 STAGES[stage]["clips"], train_seed_of(stage, seed), stage,
                                 heldout=False, procs=procs, log=log.info)


def runs_before(init_from: str, fine_tunes: int | str) -> dict:
    """The training a fine-tune continues, as one curve: an exported model's config.json keeps
    its own history and, when it was itself a fine-tune, the runs before it; a .nemo's run left
    its history.json in its work directory."""
    if os.path.isdir(init_from):
        with open(os.path.join(init_from, "config.json")) as f:
            cfg = json.load(f)
        t = cfg["training"]
        prior = cfg.get("fine_tuned_from")
        if not prior:
            return {"stage": cfg.get("recipe", cfg.get("stage")), "steps": t["steps"],
                    "minutes": t["minutes"], "history": t["history"]}
        shifted = [p | {"step": p["step"] + prior["steps"],
                        "minutes": round(p["minutes"] + prior["minutes"], 2)} for p in t["history"]]
        return {"stage": f"{prior['stage']} then {cfg.get('recipe')}",
                "steps": prior["steps"] + t["steps"],
                "minutes": round(prior["minutes"] + t["minutes"], 2),
                "history": prior["history"] + shifted}
    with open(os.path.join(ROOT, ".tools", f"demo-stage{fine_tunes}", "history.json")) as f:
        before = json.load(f)
    return {"stage": fine_tunes, "steps": before[-1]["step"], "minutes": before[-1]["minutes"],
            "history": before}


def rebuild_tokenizer(of_stage: int, seed: int, tok_dir: str, model_dir: str) -> None:
    """A stage's tokenizer made again from its training texts (they depend on the seed alone,
    not on the audio), and checked piece for piece against the exported model's vocab.txt."""
    import random

    texts = [demo_data.label_of(demo_data.STAGE_TEXTS[of_stage](random.Random(seed * 1_000_003 + i)))
             for i in range(STAGES[of_stage]["clips"])]
    build_model.train_tokenizer([t for t in texts if t], tok_dir, STAGES[of_stage]["vocab"])
    import sentencepiece as spm

    sp = spm.SentencePieceProcessor(model_file=os.path.join(tok_dir, "tokenizer.model"))
    mine = [f"{sp.id_to_piece(i)} {i}" for i in range(sp.get_piece_size())]
    mine.append(f"<blk> {sp.get_piece_size()}")
    with open(os.path.join(model_dir, "vocab.txt"), encoding="utf-8") as f:
        theirs = f.read().splitlines()
    if mine != theirs:
        raise SystemExit(f"the stage {of_stage} tokenizer made again differs from "
                         f"{model_dir}/vocab.txt: not the model this recipe trained")
    log.info("stage %s tokenizer made again in %s; equal to %s/vocab.txt", of_stage, tok_dir,
             model_dir)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stage", type=lambda v: int(v) if v.isdigit() else v,
                    choices=list(STAGES), default=1)
    ap.add_argument("--out", required=True, help="model directory to write (e.g. models/demo)")
    ap.add_argument("--work", help="work directory (default .tools/demo-stage<N>)")
    ap.add_argument("--steps", type=int, required=True, help="training steps (batch 32)")
    ap.add_argument("--clips", type=int, help="synthetic training clips (default per stage)")
    ap.add_argument("--lr", type=float, default=1.5e-3)
    ap.add_argument("--seed", type=int, default=2026)
    ap.add_argument("--eval-every", type=int, default=250)
    ap.add_argument("--curriculum-steps", type=int, default=300)
    ap.add_argument("--nemo-out", help="also save the NeMo checkpoint (.nemo) here")
    ap.add_argument("--no-export", action="store_true", help="train only")
    ap.add_argument("--init-from", help="a .nemo to start from: its encoder (stage 2), all of it "
                    "(the fine-tunes 1b to 1h, which also take an exported model directory of the "
                    "stage they fine-tune)")
    ap.add_argument("--synth-only", action="store_true", help="make the corpora and stop")
    ap.add_argument("--procs", type=int, default=2, help="synthesis processes")
    args = ap.parse_args()

    stage = STAGES[args.stage]
    work = args.work or os.path.join(ROOT, ".tools", f"demo-stage{args.stage}")
    os.makedirs(work, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s",
                        handlers=[logging.StreamHandler(sys.stdout),
                                  logging.FileHandler(os.path.join(work, "train.log"))])
    import torch
    from lightning.pytorch import seed_everything

    torch.set_num_threads(2)
    t_all = time.time()
    clips = args.clips or stage.get("clips")
    # A fine-tune hears new clips; its held-out sets are those of the stage it fine-tunes. A stage
    # with `corpora` trains on those stages' training clips (each made, or reused, in its own work
    # directory with its own seed) and makes none of its own.
    train_ms = [make_training_corpus(s, args.seed, args.procs)
                for s in stage.get("corpora", [])] or \
               [demo_data.make_corpus(os.path.join(work, "train"), clips, train_seed_of(args.stage,
                                      args.seed), args.stage, heldout=False, procs=args.procs,
                                      log=log.info)]
    # A stage with `data_of` uses that stage's held-out sets, in that stage's work directory
    # (made there if they are not yet).
    data_stage = stage.get("data_of", args.stage)
    held = os.path.join(ROOT, ".tools", f"demo-stage{data_stage}") if "data_of" in stage else work
    dev_m = demo_data.make_corpus(os.path.join(held, "dev"), 96, args.seed + 1, data_stage,
                                  heldout=True, procs=args.procs, log=log.info)
    # The evaluation set: held-out voices, augmented as in training (reported per family).
    demo_data.make_corpus(os.path.join(held, "eval"), 400, args.seed + 2, data_stage,
                          heldout=True, procs=args.procs, log=log.info)
    # ... and the same voices without noise or reverberation.
    demo_data.make_corpus(os.path.join(held, "eval-clean"), 400, args.seed + 3, data_stage,
                          heldout=True, clean=True, procs=args.procs, log=log.info)
    # ... and 400 more of them, new (a seed of their own): a chain of fine-tunes is compared on
    # eval-clean, so the figure a run is shipped with comes from clips no choice was made on.
    demo_data.make_corpus(os.path.join(held, "eval-fresh"), 400, args.seed + 4, data_stage,
                          heldout=True, clean=True, procs=args.procs, log=log.info)
    if args.synth_only:
        return
    train_rows = [r for m in train_ms for r in build_model.read_manifest(m)]
    dev_rows = build_model.read_manifest(dev_m)
    size = parakeet_arch.SIZES[stage["size"]]
    tok_dir = os.path.join(work, "tokenizer")
    if stage.get("fine_tunes"):
        if not args.init_from:
            raise SystemExit(f"stage {args.stage} fine-tunes stage {stage['fine_tunes']}: "
                             "give its .nemo or exported model directory with --init-from")
        of = stage.get("tokenizer_of", stage["fine_tunes"])
        tok_dir = os.path.join(ROOT, ".tools", f"demo-stage{of}", "tokenizer")
        if not os.path.exists(os.path.join(tok_dir, "tokenizer.model")):
            if not os.path.isdir(args.init_from):
                raise SystemExit(f"{tok_dir} is missing: stage {of}'s tokenizer")
            rebuild_tokenizer(of, args.seed, tok_dir, args.init_from)
    elif not os.path.exists(os.path.join(tok_dir, "tokenizer.model")):
        build_model.train_tokenizer([r["text"] for r in train_rows if r["text"]], tok_dir,
                                    stage["vocab"])

    seed_everything(args.seed, workers=False)
    model = build_model.build_nemo_model(size, tok_dir, 0.05, stage.get("spec_augment"))
    log.info("stage %s (%s): %d parameters, vocabulary %d", args.stage, stage["what"],
             build_model.count_params(model), model.tokenizer.vocab_size)
    if args.init_from and not os.path.exists(os.path.join(work, "train_state.pt")):
        log.info("from %s: %d tensors", args.init_from,
                 init_from(model, args.init_from, bool(stage.get("fine_tunes")), train_rows))
    state = build_model.train(model, train_rows, dev_rows, work, 0.0, 32, args.lr, args.seed,
                              args.steps, curriculum=args.curriculum_steps,
                              eval_every=args.eval_every)
    model.eval()
    if args.nemo_out:
        model.save_to(args.nemo_out)
    if args.no_export:
        return
    extra = {"trained": True, "stage": stage.get("tokenizer_of") or stage.get("fine_tunes", args.stage),
             "recipe": str(args.stage), "recognises": stage["what"],
             "encoder_initialised_from": os.path.basename(args.init_from) if args.init_from else None,
             "streaming_defaults": stage.get("streaming_defaults"),
             "training": {"steps": state["step"], "minutes": round(state["elapsed"] / 60, 1),
                          "batch_size": 32, "clips": len(train_rows), "seed": args.seed, "lr": args.lr,
                          "history": state["history"]}}
    if stage.get("fine_tunes"):
        # The run it continues, so the curves show both (lab/demo-model/training_curves.ts).
        extra["fine_tuned_from"] = runs_before(args.init_from, stage["fine_tunes"])
    build_model.export(model, args.out, stage["size"], size, extra)
    with open(os.path.join(work, "history.json"), "w") as f:
        json.dump(state["history"], f, indent=1)
    log.info("done in %.1f min", (time.time() - t_all) / 60)


if __name__ == "__main__":
    main()
