"""
A SentencePiece model with the kinds of pieces Parakeet-TDT-0.6B-v3's tokenizer has (control and
user-defined symbols of the `<|…|>` form, `<pad>`, byte fallback, `▁`-prefixed punctuation),
trained here on a small multilingual corpus, and sentencepiece's own decoding of id sequences
over it: the reference for our detokeniser. Prints JSON: {"vocab": [...], "cases": [[ids, text]]}.

    python sentencepiece_reference.py WORKDIR
"""
import json
import random
import sys

import sentencepiece as spm

CORPUS = [
    "Hello, world. How are you today?",
    "Bonjour ! Comment ça va ? Très bien, merci.",
    "« Oui », dit-il ; puis : « non ».",
    "Él dijo ¿qué? y ella respondió ¡nada!",
    "¿Dónde está la biblioteca? Está allí, a 200 metros.",
    "Das ist „gut“ – oder nicht? Straße, Größe, Übermaß.",
    "Es kostet 3,50 € und 12.000 Menschen kamen am 3. Mai 2024.",
    "The year 1999 had 365 days; 2000 had 366.",
    "It's a dog's life, isn't it? Yes... it is!",
    "Number 7, then 42, then 1,000,000.",
    "Zażółć gęślą jaźń. Příliš žluťoučký kůň.",
    "Она сказала: «Привет!» — и ушла.",
]


def main() -> None:
    work = sys.argv[1]
    controls = ["<|nospeech|>", "<|endoftext|>", "<|startoftranscript|>", "<|pnc|>", "<|nopnc|>"]
    user_defined = ["<|itn|>", "<|noitn|>"]
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(CORPUS * 20),
        model_prefix=f"{work}/sp",
        model_type="bpe",
        vocab_size=400,
        character_coverage=0.98,
        byte_fallback=True,
        pad_id=1,
        unk_id=0,
        bos_id=-1,
        eos_id=-1,
        control_symbols=controls,
        user_defined_symbols=user_defined,
        split_digits=True,
        minloglevel=2,
    )
    sp = spm.SentencePieceProcessor(model_file=f"{work}/sp.model")
    vocab = [sp.id_to_piece(i) for i in range(sp.get_piece_size())]
    kinds = {}
    for i in range(sp.get_piece_size()):
        if sp.is_control(i):
            kinds[i] = "control"
        elif sp.is_unknown(i):
            kinds[i] = "unknown"
        elif sp.is_byte(i):
            kinds[i] = "byte"
    markers = {sp.piece_to_id(p) for p in user_defined}

    def decode_as_markers(ids):
        # User-defined `<|…|>` pieces print literally in sentencepiece; for a transcript they are
        # markers like the control symbols, so the reference decodes without them.
        return sp.decode([i for i in ids if i not in markers])

    cases = []
    for text in CORPUS + ["  leading spaces", "emoji 🙂 and 漢字 fall back to bytes"]:
        ids = sp.encode(text)
        assert sp.decode(ids) == decode_as_markers(ids)
        cases.append([ids, sp.decode(ids)])
    # Random id sequences: controls, bytes (valid UTF-8 or not), punctuation anywhere.
    rng = random.Random(7)
    ordinary = [i for i in range(len(vocab)) if i not in kinds]
    special = [i for i in kinds if kinds[i] != "unknown"] + sorted(markers)
    for _ in range(400):
        n = rng.randint(1, 12)
        ids = [rng.choice(special) if rng.random() < 0.25 else rng.choice(ordinary) for _ in range(n)]
        cases.append([ids, decode_as_markers(ids)])
    json.dump({"vocab": vocab, "kinds": kinds, "cases": cases}, sys.stdout, ensure_ascii=False)


if __name__ == "__main__":
    main()
