"""vLLM worker extension for in-place weight pushes (loaded by name inside vLLM's worker process).

`reload_weights` is the call that works on vLLM's CPU backend (`model.load_weights` fails there after
weight repacking). Method names must not clash with the worker's own (`update_weights` exists).
"""

from __future__ import annotations

from pathlib import Path

import torch
from safetensors.torch import load as load_bytes


class WeightSyncExtension:
    model_runner: object  # provided by the vLLM worker this class is mixed into

    def agentrl_load_weights(self, payload: bytes | str) -> int:
        """Load weights from safetensors bytes or a checkpoint directory; returns the tensor count."""
        if isinstance(payload, (bytes, bytearray)):
            sd: dict[str, torch.Tensor] = load_bytes(bytes(payload))
        else:
            from agentrl.models.weights import load_state_dict_from_dir

            sd = load_state_dict_from_dir(Path(payload))
        self.model_runner.reload_weights(weights_iterator=iter(sd.items()))  # type: ignore[attr-defined]
        return len(sd)
