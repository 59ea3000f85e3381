"""Training objectives, one signature: (output, batch, **hyperparameters) -> (summed loss, metrics).

`output` is what the worker's model returns for the batch: logits for the policy, values (B, T) for the
critic. The policy's logits are computed only where the loss reads them (`Batch.trained_positions`), and
`batch` is then the matching view (`Batch.targets_view`): per-token tensors (B, K+1) aligned exactly as the
full (B, T) ones are, so an objective written for full logits works unchanged.

The learner divides the summed loss by the number of trainable tokens in the whole global batch (over all
micro-batches and ranks), so gradient accumulation and world size do not change the gradient.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from agentrl.train.batch import Batch
from agentrl.train.losses import nll_sum, token_logprobs

Objective = Callable[..., tuple[torch.Tensor, dict[str, float]]]
OBJECTIVES: dict[str, Objective] = {}


def register_objective(name: str) -> Callable[[Objective], Objective]:
    def deco(fn: Objective) -> Objective:
        if name in OBJECTIVES:
            raise ValueError(f"objective '{name}' is already registered")
        OBJECTIVES[name] = fn
        return fn

    return deco


@register_objective("nll")
def nll_objective(logits: torch.Tensor, batch: Batch) -> tuple[torch.Tensor, dict[str, float]]:
    """CT (mask = every text token) and SFT (mask = assistant tokens)."""
    lp = token_logprobs(logits, batch.input_ids.to(logits.device))
    mask = batch.loss_mask.to(logits.device)
    loss = nll_sum(lp, mask)
    return loss, {"nll_sum": float(loss.detach()), "tokens": float(mask.sum())}


BUILTIN_MODULES = ("agentrl.train.ppo.objectives",)  # register "ppo" and "value"


def get_objective(name: str) -> Objective:
    """Look up an objective, importing the built-in modules that register them (in any process)."""
    if name not in OBJECTIVES:
        import importlib

        for module in BUILTIN_MODULES:
            importlib.import_module(module)
    if name not in OBJECTIVES:
        raise KeyError(f"objective '{name}' is not registered; known: {', '.join(sorted(OBJECTIVES))}")
    return OBJECTIVES[name]
