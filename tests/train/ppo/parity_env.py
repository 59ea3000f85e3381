"""A one-step env whose reward depends on what the model wrote, so that an untrained model gets mixed
outcomes: reward 1 when the response text has an even number of characters. Made by module path
(`tests.train.ppo.parity_env:ParityEnv`) in the Ray env workers, which run from the repository root."""

from __future__ import annotations

from typing import Any

from envs.actions import Action
from envs.toy.click import ToyClickEnv


class ParityEnv(ToyClickEnv):
    def step(self, action: str | Action):
        obs, _, _, _, info = super().step(action)
        text = action if isinstance(action, str) else ""
        reward = float(len(text) % 2 == 0 and bool(text))
        info: dict[str, Any] = {**info, "success": reward > 0, "truncation_reason": ""}
        return obs, reward, True, False, info
