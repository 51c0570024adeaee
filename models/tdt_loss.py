"""A vectorised TDT (Token-and-Duration Transducer) loss in plain PyTorch, for the CPU.

NeMo 3.0.0's `tdt` loss is a Numba CUDA kernel ("TDT is not yet implemented for non CUDA
computation") and its `tdt_pytorch` reference loops over every (b, t, u) cell and calls
`.cuda()`. This one computes the same quantity (Eq. 7 of https://arxiv.org/abs/2304.06795, as
NeMo's TDTLossPytorch does) with a loop over time frames only:

* log-space forward variable alpha[t, u] over the whole batch and every u at once;
* arcs into (t, u) from (t - d, u) (a blank of duration d > 0) and from (t - d, u - 1) (token
  u - 1 with duration d > 0) come from rows already computed;
* tokens of duration 0 chain within a frame: alpha[t, u] = lse(base[t, u], alpha[t, u-1] + w[u-1]),
  solved for all u at once as  C[u] + logcumsumexp(base - C)[u]  with C the cumulative sum of
  the chain weights w (float64 keeps that exact enough);
* the label log-probabilities are under-normalised by `sigma` (log_softmax(label logits) - sigma)
  and the duration log-probabilities are a separate log_softmax, as in NeMo.

`omega` (NeMo's probability of computing the plain RNN-T loss instead for a batch) is supported
the same way: with probability omega the batch uses RNN-T arcs (blank advances one frame, tokens
stay on the frame, no duration term, no sigma).

The call signature matches NeMo's inner loss functions, so it can replace
`model.loss._loss` of an EncDecRNNTModel whose loss is `tdt`/`tdt_pytorch`:
    loss(acts=[B, T, U+1, V+1+D], labels=[B, U], act_lens=[B], label_lens=[B]) -> [B] (reduction None)
"""

from __future__ import annotations

import random
from typing import Sequence

import torch

NEG = -1.0e5  # stands for log(0); finite so that gradients stay finite


class TDTLossCPU(torch.nn.Module):
    def __init__(self, blank: int, durations: Sequence[int], reduction: str | None = "mean_batch",
                 sigma: float = 0.0, omega: float = 0.0, dtype: torch.dtype = torch.float64):
        super().__init__()
        if any(d < 0 for d in durations) or not any(d > 0 for d in durations):
            raise ValueError(f"TDT durations must be >= 0 with at least one > 0, got {list(durations)}")
        self.blank = blank
        self.durations = [int(d) for d in durations]
        self.reduction = reduction
        self.sigma = float(sigma)
        self.omega = float(omega)
        self.dtype = dtype

    def forward(self, acts: torch.Tensor, labels: torch.Tensor, act_lens: torch.Tensor,
                label_lens: torch.Tensor) -> torch.Tensor:
        n_dur = len(self.durations)
        acts = acts.to(self.dtype)
        label_acts = acts[..., :-n_dur]
        if self.omega > 0 and random.random() < self.omega:
            logp = torch.log_softmax(label_acts, dim=-1)
            losses = -self._forward_logprob(logp, None, labels, act_lens, label_lens,
                                            blank_durs=[1], label_durs=[0])
        else:
            logp = torch.log_softmax(label_acts, dim=-1) - self.sigma
            dur_logp = torch.log_softmax(acts[..., -n_dur:], dim=-1)
            losses = -self._forward_logprob(logp, dur_logp, labels, act_lens, label_lens,
                                            blank_durs=self.durations, label_durs=self.durations)
        losses = losses.to(torch.float32) if acts.dtype != torch.float32 else losses
        if self.reduction == "mean_batch":
            return losses.mean()
        if self.reduction == "mean":
            return (losses / label_lens.to(losses.dtype)).mean()
        if self.reduction == "sum":
            return losses.sum()
        if self.reduction == "mean_volume":
            return losses.sum() / label_lens.sum()
        return losses

    def _forward_logprob(self, logp: torch.Tensor, dur_logp: torch.Tensor | None,
                         labels: torch.Tensor, act_lens: torch.Tensor, label_lens: torch.Tensor,
                         blank_durs: Sequence[int], label_durs: Sequence[int]) -> torch.Tensor:
        """log P(labels | acts) for each batch element. logp: [B, T, U+1, V+1] label log-probs,
        dur_logp: [B, T, U+1, D] duration log-probs (None: no duration term), the duration lists
        say which durations blank arcs and token arcs may take (indices into self.durations when
        dur_logp is given)."""
        B, T, U1, _ = logp.shape
        U = U1 - 1
        dev, dt = logp.device, logp.dtype
        if labels.shape[1] < U:  # a batch whose clips are all without speech: NeMo trims to 0
            labels = torch.nn.functional.pad(labels, (0, U - labels.shape[1]))
        labels = labels[:, :U].long().clamp(0, logp.shape[-1] - 1)
        blank_lp = logp[..., self.blank]  # [B, T, U+1]
        if U > 0:
            emit_lp = torch.gather(logp[:, :, :U, :], 3,
                                   labels[:, None, :, None].expand(B, T, U, 1)).squeeze(3)  # [B, T, U]
        else:
            emit_lp = logp.new_zeros(B, T, 0)

        def dur_term(n: int) -> torch.Tensor | float:
            return 0.0 if dur_logp is None else dur_logp[..., n]  # [B, T, U+1]

        # Per duration: the weight of a blank arc leaving (t, u) and of a token arc leaving (t, u).
        blank_arcs = [(d, blank_lp + dur_term(n)) for n, d in enumerate(blank_durs) if d > 0]
        token_arcs = [(d, emit_lp + (dur_term(n)[..., :U] if dur_logp is not None else 0.0))
                      for n, d in enumerate(label_durs)]
        chain = [w for d, w in token_arcs if d == 0]  # duration-0 tokens: within a frame
        token_arcs = [(d, w) for d, w in token_arcs if d > 0]
        chain_w = chain[0] if chain else None  # [B, T, U]

        neg_col = torch.full((B, 1), NEG, device=dev, dtype=dt)
        zero_col = torch.zeros((B, 1), device=dev, dtype=dt)
        first = torch.cat([zero_col, torch.full((B, U), NEG, device=dev, dtype=dt)], dim=1)
        alphas: list[torch.Tensor] = []
        for t in range(T):
            if t == 0:
                base = first
            else:
                terms = []
                for d, w in blank_arcs:
                    if t - d >= 0:
                        terms.append(alphas[t - d] + w[:, t - d, :])
                for d, w in token_arcs:
                    if t - d >= 0 and U > 0:
                        terms.append(torch.cat([neg_col, alphas[t - d][:, :U] + w[:, t - d, :]], dim=1))
                base = torch.logsumexp(torch.stack(terms, 0), dim=0) if terms else first * 0 + NEG
            if chain_w is not None and U > 0:
                c = torch.cat([zero_col, torch.cumsum(chain_w[:, t, :], dim=1)], dim=1)  # [B, U+1]
                alpha = c + torch.logcumsumexp(base - c, dim=1)
            else:
                alpha = base
            alphas.append(alpha)
        alpha_all = torch.stack(alphas, dim=1)  # [B, T, U+1]

        # Termination: a blank of duration d from (T_b - d, U_b) ends the utterance.
        act_lens = act_lens.long()
        label_lens = label_lens.long()
        bidx = torch.arange(B, device=dev)
        finals = []
        for d, w in blank_arcs:
            t_from = act_lens - d
            ok = t_from >= 0
            tf = t_from.clamp(min=0)
            val = alpha_all[bidx, tf, label_lens] + w[bidx, tf, label_lens]
            finals.append(torch.where(ok, val, torch.full_like(val, NEG)))
        return torch.logsumexp(torch.stack(finals, 0), dim=0)


def use_cpu_tdt_loss(model, omega: float | None = None) -> TDTLossCPU:
    """Swap the inner loss of a NeMo EncDecRNNTModel (built with loss_name tdt)
    for TDTLossCPU with the same blank, durations and sigma. Returns the new loss module."""
    kw = model.cfg.loss.get("tdt_kwargs", {})
    inner = TDTLossCPU(blank=model.loss._blank, durations=list(kw.get("durations")),
                       reduction=None, sigma=float(kw.get("sigma", 0.0)),
                       omega=float(kw.get("omega", 0.0) if omega is None else omega))
    model.loss._loss = inner
    return inner
