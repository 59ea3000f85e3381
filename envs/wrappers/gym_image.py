"""GymImageEnv: a gymnasium env with image observations and discrete actions, as a GUIEnv.

    env = GymImageEnv("MiniGrid-Empty-5x5-v0", keys={"left": 0, "right": 1, "up": 2})
    obs, info = env.reset(seed=0)        # obs["screenshot"] = the wrapped env's rgb_array frame
    env.step("Action: hotkey(key='up')") # -> the wrapped env's action 2

The wrapped env is made with `render_mode="rgb_array"`; its frame is the screenshot. The instruction is
`instruction`, or the wrapped observation's "mission" (MiniGrid, BabyAI) when none is given. Actions are
keys: `hotkey(key=K)` with K in `keys` steps the wrapped env with `keys[K]`; `wait()` and `finished()` do
not step it; any other verb or key is answered with `info["action_error"]` naming the allowed keys.

Reward: the wrapped env's return over the episode is kept in `episode_return`; the episode is a success
(raw reward 1) when the wrapped env terminates with a return above `success_return`. A wrapped env that
truncates (its own time limit) ends the episode truncated with that reason.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np

from envs.actions import Action, ActionError
from envs.core.gui_env import EnvFault, GUIEnv

KEY_ALIASES = {"arrowleft": "left", "arrowright": "right", "arrowup": "up", "arrowdown": "down", " ": "space"}


class GymImageEnv(GUIEnv):
    def __init__(
        self,
        gym_id: str,
        keys: dict[str, int],
        instruction: str | None = None,
        success_return: float = 0.0,
        gym_kwargs: dict[str, Any] | None = None,
        max_steps: int = 20,
        text_mode: str = "off",
        **kwargs: Any,
    ) -> None:
        self.inner = gym.make(gym_id, render_mode="rgb_array", **(gym_kwargs or {}))
        self.inner.reset(seed=0)
        frame = self.inner.render()  # the frame size fixes the observation space
        if not (isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3):
            raise ValueError(f"gym_id: {gym_id} renders {type(frame).__name__}, not an (H, W, 3) rgb_array")
        super().__init__(frame.shape[1], frame.shape[0], max_steps=max_steps, text_mode=text_mode, **kwargs)
        self.keys = {k.lower(): int(v) for k, v in keys.items()}
        self.fixed_instruction = instruction
        self.success_return = success_return
        self.episode_return = 0.0
        self.inner_terminated = self.inner_truncated = False

    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        obs, _ = self.inner.reset(seed=seed)
        self.episode_return = 0.0
        self.inner_terminated = self.inner_truncated = False
        if self.fixed_instruction:
            return self.fixed_instruction
        if isinstance(obs, dict) and isinstance(obs.get("mission"), str):
            return obs["mission"]
        raise ValueError("instruction: the wrapped env has no 'mission'; pass instruction=...")

    def _execute(self, action: Action) -> str | None:
        if action.verb in ("wait", "finished"):
            return None
        key = KEY_ALIASES.get((action.key or "").lower(), (action.key or "").lower())
        if action.verb != "hotkey" or key not in self.keys:
            got = f"hotkey(key='{action.key}')" if action.verb == "hotkey" else f"{action.verb}(...)"
            raise ActionError(f"this env takes hotkey(key=K) with K one of {', '.join(self.keys)}; got {got}")
        _, reward, terminated, truncated, _ = self.inner.step(self.keys[key])
        self.episode_return += float(reward)
        self.inner_terminated, self.inner_truncated = bool(terminated), bool(truncated)
        return None

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        if self.inner_terminated:
            return float(self.episode_return > self.success_return), True
        if self.inner_truncated:
            raise EnvFault("the wrapped env truncated the episode (its own step limit)")
        return 0.0, False

    def _screenshot(self) -> np.ndarray:
        return np.ascontiguousarray(self.inner.render(), dtype=np.uint8)

    def _close(self) -> None:
        self.inner.close()
