"""TDTLossCPU (models/tdt_loss.py) against NeMo's reference TDTLossPytorch, value and gradient.

Run: .tools/venv-nemo/bin/python -m pytest tests/python/test_tdt_loss.py
"""

import pytest
import torch

from models.tdt_loss import TDTLossCPU

rnnt_pytorch = pytest.importorskip("nemo.collections.asr.losses.rnnt_pytorch")


@pytest.fixture(autouse=True)
def no_cuda(monkeypatch):
    # NeMo's reference hard-codes `.cuda()`; make it a no-op so it runs on the CPU.
    monkeypatch.setattr(torch.Tensor, "cuda", lambda self, *a, **k: self, raising=True)


def reference(acts, labels, act_lens, label_lens, durations, sigma):
    ref = rnnt_pytorch.TDTLossPytorch(blank=acts.shape[-1] - len(durations) - 1,
                                      durations=durations, reduction="sum", sigma=sigma)
    return ref(acts=acts, labels=labels, act_lens=act_lens, label_lens=label_lens)


@pytest.mark.parametrize("seed,B,T,U,V,durations,sigma", [
    (0, 2, 6, 3, 5, [0, 1, 2, 3, 4], 0.02),
    (1, 3, 9, 4, 7, [0, 1, 2, 3, 4], 0.0),
    (2, 2, 7, 2, 4, [0, 1, 2], 0.05),
    (3, 1, 5, 0, 3, [0, 1, 2, 3, 4], 0.02),  # empty transcript
    (4, 2, 8, 3, 6, [1, 2, 4], 0.02),  # no duration 0
])
def test_tdt_loss_matches_nemo_reference_value_and_gradient(seed, B, T, U, V, durations, sigma):
    g = torch.Generator().manual_seed(seed)
    acts = torch.randn(B, T, U + 1, V + 1 + len(durations), generator=g) * 2
    labels = torch.randint(0, V, (B, max(U, 1)), generator=g)[:, :U]
    act_lens = torch.tensor([T] + [max(1, T - 1 - i) for i in range(B - 1)])
    label_lens = torch.tensor([U] + [max(0, U - 1 - i) for i in range(B - 1)])

    a1 = acts.clone().requires_grad_(True)
    want = reference(a1, labels, act_lens, label_lens, durations, sigma)
    want.backward()

    a2 = acts.clone().requires_grad_(True)
    ours = TDTLossCPU(blank=V, durations=durations, reduction="sum", sigma=sigma)
    got = ours(acts=a2, labels=labels, act_lens=act_lens, label_lens=label_lens)
    got.backward()

    assert abs(got.item() - want.item()) <= 2e-6 * max(1.0, abs(want.item())), (got.item(), want.item())
    assert torch.allclose(a2.grad, a1.grad, atol=2e-6, rtol=0), (a2.grad - a1.grad).abs().max()


def test_tdt_loss_per_example_reduction_none():
    g = torch.Generator().manual_seed(7)
    acts = torch.randn(3, 6, 3, 4 + 1 + 5, generator=g)
    labels = torch.randint(0, 4, (3, 2), generator=g)
    loss = TDTLossCPU(blank=4, durations=[0, 1, 2, 3, 4], reduction=None, sigma=0.02)
    out = loss(acts, labels, torch.tensor([6, 5, 4]), torch.tensor([2, 1, 2]))
    assert out.shape == (3,) and torch.isfinite(out).all() and (out > 0).all()


def test_tdt_loss_batch_without_speech_given_labels_narrower_than_acts():
    # A batch whose clips all have empty transcripts: the prediction network ran on one padded
    # column (acts U+1 = 2) while NeMo's loss wrapper trimmed the labels to the longest, 0.
    g = torch.Generator().manual_seed(11)
    acts = torch.randn(2, 7, 2, 4 + 1 + 5, generator=g)
    act_lens, label_lens = torch.tensor([7, 5]), torch.tensor([0, 0])
    loss = TDTLossCPU(blank=4, durations=[0, 1, 2, 3, 4], reduction="sum", sigma=0.02)
    got = loss(acts, torch.zeros(2, 0, dtype=torch.long), act_lens, label_lens)
    want = reference(acts.clone(), torch.zeros(2, 1, dtype=torch.long), act_lens, label_lens,
                     [0, 1, 2, 3, 4], 0.02)
    assert torch.isfinite(got) and abs(got.item() - want.item()) <= 2e-6 * abs(want.item())
