"""The critic: a value head on a copy of the policy backbone (UI-TARS-2), trained by the same learner.

values[b, t] = V(x_<t), aligned like token logprobs: the value of the state in which token t is emitted.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch
from safetensors.torch import load_file, save_file

from agentrl.train.worker import LearnerWorker

CRITIC_FILE = "critic.safetensors"


class ValueModel(torch.nn.Module):
    """backbone (the VLM without its LM head) + Linear(hidden, 1)."""

    def __init__(self, vlm: Any) -> None:
        super().__init__()
        self.backbone = vlm.model  # Qwen2_5_VLModel: vision tower + language model
        self.config = vlm.config
        hidden = vlm.config.get_text_config().hidden_size
        self.value_head = torch.nn.Linear(hidden, 1)
        torch.nn.init.zeros_(self.value_head.weight)
        torch.nn.init.zeros_(self.value_head.bias)

    def gradient_checkpointing_enable(self, **kwargs: Any) -> None:
        self.backbone.gradient_checkpointing_enable(**kwargs)

    def forward(self, use_cache: bool = False, **inputs: Any) -> torch.Tensor:
        hidden = self.backbone(**inputs, use_cache=use_cache).last_hidden_state  # (B, T, H)
        v = self.value_head(hidden.to(self.value_head.weight.dtype)).float().squeeze(-1)  # (B, T): V(x_<=t)
        return torch.nn.functional.pad(v[:, :-1], (1, 0))  # (B, T): V(x_<t)


class CriticWorker(LearnerWorker):
    def _wrap_model(self, model: Any) -> Any:
        return ValueModel(model)

    def _forward(self, batch: Any) -> torch.Tensor:
        with torch.autocast(self.device.type, dtype=self.dtype, enabled=self._autocast):
            return self.model(**self._inputs(batch))

    def _loss_inputs(self, batch: Any) -> tuple[torch.Tensor, Any]:
        return self._forward(batch), batch  # values at every position (the value head is cheap)

    def values(self, samples: list[Any], micro_batch_size: int) -> list[list[float]]:
        """V per token, aligned with each sample's unexpanded input_ids, batched like the policy's logprobs."""
        return self.per_token(samples, micro_batch_size, self._forward)

    def _write_weights(self, sd: dict[str, torch.Tensor], d: Path) -> None:
        save_file({k: v.contiguous() for k, v in sd.items()}, str(d / CRITIC_FILE))

    def _read_weights(self, d: Path) -> dict[str, torch.Tensor]:
        return load_file(str(d / CRITIC_FILE))
