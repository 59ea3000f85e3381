"""Comparing two learners' updates without Adam's noise amplification.

Adam's first step is lr * g / (sqrt(v) + eps) = lr * sign(g) for |g| >> eps: a gradient that is zero up to float
noise (|g| ~ eps) gets a step anywhere from 0 to lr, so two equal computations summed in another order can differ
by ~lr in such a parameter. With eps = 1 the step is lr * g / (|g| + 1) ~ lr * g (an SGD step), so float noise in g
stays float noise in the weights, and equal updates can be checked against the size of the step itself."""

from __future__ import annotations

import torch

from agentrl.train.config import OptimConfig

OPT_LINEAR = OptimConfig(lr=1e-3, eps=1.0, warmup_steps=0, grad_clip=1e9)  # no clipping: compare raw updates


def weights(group) -> dict[str, torch.Tensor]:
    return {k: v.clone() for k, v in group.state_dict().items()}


def max_diff(a: dict[str, torch.Tensor], b: dict[str, torch.Tensor]) -> float:
    return max(float((a[k] - b[k]).abs().max()) for k in a)


def assert_same_update(w_init: dict, w_a: dict, w_b: dict, rtol: float = 1e-3) -> None:
    """Both runs moved the weights (by the same amount up to float noise: rtol of the largest step)."""
    step = max_diff(w_a, w_init)
    diff = max_diff(w_a, w_b)
    assert step > 0 and diff < rtol * step, f"updates differ by {diff:.2e}; the largest step is {step:.2e}"
