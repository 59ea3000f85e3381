"""Mixed precision with master weights: bf16 parameters for the forward and backward, fp32 copies for AdamW.

The model runs in bf16 with no autocast (no per-forward casts, half the parameter and activation memory of
fp32 + autocast), while the optimizer updates fp32 master copies, so small updates are not rounded away:

    g32 = float(g16);  theta32 <- AdamW(theta32, g32);  theta16 <- bf16(theta32)

FSDP2 gets the same effect from its MixedPrecisionPolicy (fp32 shards, bf16 compute); this is the single-GPU
and DDP path.
"""

from __future__ import annotations

import torch


class MasterWeights:
    """fp32 master copies of a model's trainable (bf16) parameters, in the same order."""

    def __init__(self, params: list[torch.nn.Parameter]) -> None:
        self.params = params
        self.master = [torch.nn.Parameter(p.detach().float().clone()) for p in params]

    def grads_to_master(self) -> None:
        """g32 = float(g16); the bf16 gradients are released."""
        for p, m in zip(self.params, self.master, strict=True):
            m.grad = None if p.grad is None else p.grad.float()
            p.grad = None

    @torch.no_grad()
    def master_to_params(self) -> None:
        """theta16 <- bf16(theta32)."""
        torch._foreach_copy_(self.params, self.master)

    @torch.no_grad()
    def params_to_master(self) -> None:
        """theta32 <- float(theta16) (after weights were loaded into the model)."""
        torch._foreach_copy_(self.master, self.params)

    def by_storage(self) -> dict[int, torch.Tensor]:
        """data_ptr of each bf16 parameter -> its master copy (tied weights share one entry)."""
        return {p.data_ptr(): m for p, m in zip(self.params, self.master, strict=True)}
