"""Token-level log-likelihoods and the CT/SFT objective as pure tensor functions.

Every tensor is aligned with input_ids, shape (B, T): position t holds the quantity for predicting token t
from tokens < t; position 0 (never predicted) holds 0.
"""

from __future__ import annotations

import torch


def token_logprobs(logits: torch.Tensor, input_ids: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """log p_T(x_t | x_<t) = log softmax(z_t / T)[x_t].  logits (B, T, V), input_ids (B, T) -> (B, T), 0 at t = 0."""
    z = logits[:, :-1].float()
    lp = torch.log_softmax(z if temperature == 1.0 else z / temperature, dim=-1)  # (B, T-1, V)
    picked = lp.gather(-1, input_ids[:, 1:].unsqueeze(-1)).squeeze(-1)  # (B, T-1)
    return torch.nn.functional.pad(picked, (1, 0))


def token_entropy(logits: torch.Tensor, temperature: float = 1.0) -> torch.Tensor:
    """H(p_T(. | x_<t)) aligned like token_logprobs.  (B, T, V) -> (B, T)."""
    lp = torch.log_softmax(logits[:, :-1].float() / temperature, dim=-1)
    h = -(lp.exp() * lp).sum(-1)
    return torch.nn.functional.pad(h, (1, 0))


def nll_sum(logprobs: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """CT / SFT: L = -sum_t m_t log p(x_t | x_<t); the caller divides by the global count of m_t = 1."""
    return -(logprobs * mask).sum()
