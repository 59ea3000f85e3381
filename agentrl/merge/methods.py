"""Merge rules: pure functions of one tensor name's values across checkpoints, one signature each.

    fn(thetas, alphas, base) -> theta      thetas: K tensors of one shape (float32), alphas: K floats,
                                           base: the base model's tensor (same shape) or None

- linear (UI-TARS-2's parameter interpolation): theta = sum_k alpha_k theta_k
- task_arithmetic (Ilharco et al. 2023, "Editing models with task arithmetic"):
  theta = theta_base + sum_k alpha_k (theta_k - theta_base), computed as the equal
  (1 - sum_k alpha_k) theta_base + sum_k alpha_k theta_k so that alpha = (1, 0, ...) gives theta_1 bit for bit.
  With sum alpha = 1 it is linear; it differs when the weights do not sum to 1 (`--allow-extrapolation`),
  e.g. two task vectors added at full strength (alpha = 1, 1).
- slerp (two checkpoints; Shoemake 1985, as mergekit applies it per tensor): theta_0 and theta_1 are
  interpolated along the great circle between their directions, t = alpha_1:
  theta = sin((1-t) Omega)/sin Omega theta_0 + sin(t Omega)/sin Omega theta_1, cos Omega = <u_0, u_1>
  (u the unit vectors); nearly parallel tensors (|cos Omega| > 0.9995) fall back to linear.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import torch

MergeFn = Callable[[Sequence[torch.Tensor], Sequence[float], "torch.Tensor | None"], torch.Tensor]
METHODS: dict[str, MergeFn] = {}
NEEDS_BASE = {"task_arithmetic"}
ELEMENTWISE = {"linear", "task_arithmetic"}  # rules that may be applied to row blocks of a tensor
TWO_ONLY = {"slerp"}


def register(name: str) -> Callable[[MergeFn], MergeFn]:
    def deco(fn: MergeFn) -> MergeFn:
        if name in METHODS:
            raise ValueError(f"merge method '{name}' is already registered")
        METHODS[name] = fn
        return fn

    return deco


@register("linear")
def linear(
    thetas: Sequence[torch.Tensor], alphas: Sequence[float], base: torch.Tensor | None
) -> torch.Tensor:
    out = torch.zeros_like(thetas[0])
    for theta, alpha in zip(thetas, alphas):
        out.add_(theta, alpha=alpha)  # out += alpha_k theta_k
    return out


@register("task_arithmetic")
def task_arithmetic(
    thetas: Sequence[torch.Tensor], alphas: Sequence[float], base: torch.Tensor | None
) -> torch.Tensor:
    assert base is not None, "task_arithmetic needs the base tensor"
    out = linear(thetas, alphas, None)  # sum_k alpha_k theta_k
    rest = 1.0 - sum(alphas)
    return out.add_(base, alpha=rest) if rest != 0 else out  # + (1 - sum_k alpha_k) theta_base


SLERP_DOT_THRESHOLD = 0.9995  # above it the angle is too small for a stable sin(Omega) division


@register("slerp")
def slerp(thetas: Sequence[torch.Tensor], alphas: Sequence[float], base: torch.Tensor | None) -> torch.Tensor:
    theta0, theta1 = thetas
    t = alphas[1]
    n0, n1 = theta0.norm(), theta1.norm()
    if n0 == 0 or n1 == 0:
        return linear(thetas, alphas, base)
    cos_omega = float(torch.dot((theta0 / n0).reshape(-1), (theta1 / n1).reshape(-1)).clamp(-1.0, 1.0))
    if abs(cos_omega) > SLERP_DOT_THRESHOLD:
        return linear(thetas, alphas, base)
    omega = math.acos(cos_omega)
    s0, s1 = math.sin((1 - t) * omega) / math.sin(omega), math.sin(t * omega) / math.sin(omega)
    return s0 * theta0 + s1 * theta1
