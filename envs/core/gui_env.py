"""GUIEnv: the gymnasium base every agentrl environment (browser, web app, desktop) derives from.

    obs  = {"screenshot": (H, W, 3) uint8, "instruction": str, "text": str (when text_mode != "off")}
    step(action: str | Action) -> obs, reward, terminated, truncated, info

The action is the model's text (UI-TARS format, parsed here) or a parsed `Action` in screen pixels.
Parsing never raises out of `step`: a malformed action gives reward 0, the episode goes on, and
`info["action_error"]` says why. `finished(...)` ends the episode (terminated); running out of steps
truncates it, as does an environment fault (a page that never becomes ready, an app that crashed), with
`info["truncation_reason"]`. Reward is binary by default; the task's raw reward is in `info["raw_reward"]`.

Subclasses implement the hooks `_reset_task`, `_execute`, `_screenshot`, `_evaluate` and optionally
`_elements`, `_axtree`, `_close` and `expert_action` (a scripted expert with privileged state).
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from envs.actions import Action, ActionError, parse_action
from envs.core.elements import TEXT_MODES, Element, TextMode, format_elements

# Characters that `sample()` draws from; `contains` accepts any string (instructions can hold any Unicode).
_SAMPLE_CHARSET = "".join(chr(c) for c in range(32, 127)) + "\n"


class AnyText(spaces.Text):
    """gymnasium's Text space, but any Unicode string up to max_length is a member."""

    def __init__(self, max_length: int) -> None:
        super().__init__(max_length=max_length, min_length=0, charset=_SAMPLE_CHARSET)

    def contains(self, x: Any) -> bool:
        return isinstance(x, str) and len(x) <= self.max_length


class Timings(Mapping[str, float]):
    """Seconds spent in parts of a reset or step, in `info["timings"]`.

    Timings are measurements, not env state: two compare equal when they measured the same parts, so
    gymnasium's determinism checks (same seed and actions -> same info) hold.
    """

    def __init__(self, **seconds: float) -> None:
        self._d = dict(seconds)

    def __getitem__(self, key: str) -> float:
        return self._d[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._d)

    def __len__(self) -> int:
        return len(self._d)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Timings) and self._d.keys() == other._d.keys()

    def __hash__(self) -> int:
        return hash(tuple(self._d))

    def __repr__(self) -> str:
        return "Timings(" + ", ".join(f"{k}={v * 1000:.1f}ms" for k, v in self._d.items()) + ")"

    def to_dict(self) -> dict[str, float]:
        return dict(self._d)


class EnvFault(RuntimeError):
    """The environment itself failed (not the agent): the episode ends truncated with this reason."""


class ResetNeeded(RuntimeError):
    """step() after the episode ended or before the first reset()."""


class GUIEnv(gym.Env[dict[str, Any], str]):
    metadata = {"render_modes": ["rgb_array"], "render_fps": 2}

    def __init__(
        self,
        width: int,
        height: int,
        max_steps: int = 10,
        text_mode: TextMode = "elements",
        allow_shell: bool = False,
        binary_reward: bool = True,
        render_mode: str | None = None,
    ) -> None:
        if text_mode not in TEXT_MODES:
            raise ValueError(f"text_mode: '{text_mode}' is not allowed; allowed: {', '.join(TEXT_MODES)}")
        if max_steps < 1:
            raise ValueError(f"max_steps: must be >= 1, got {max_steps}")
        self.width, self.height = int(width), int(height)
        self.max_steps = int(max_steps)
        self.text_mode = text_mode
        self.allow_shell = allow_shell
        self.binary_reward = binary_reward
        self.render_mode = render_mode
        obs = {
            "screenshot": spaces.Box(0, 255, (self.height, self.width, 3), np.uint8),
            "instruction": AnyText(4096),
        }
        if text_mode != "off":
            obs["text"] = AnyText(65536)
        self.observation_space = spaces.Dict(obs)
        self.action_space = AnyText(4096)
        self.instruction = ""
        self._steps = 0
        self._done = True
        self._last_obs: dict[str, Any] | None = None
        self._last_elements: list[Element] = []
        # A task that started but could not be observed (EnvFault from the first screenshot) is started once
        # more this many times; a subclass whose observation can fail transiently (a browser page that never
        # renders a frame) raises it. A task that fails to start is never retried.
        self.observe_retries = 0

    # -- hooks -------------------------------------------------------------------------------------------
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        """Start a new episode for `seed`; return the instruction."""
        raise NotImplementedError

    def _execute(self, action: Action) -> str | None:
        """Perform the action on the GUI (screen pixels). May raise ActionError (e.g. off-screen point)."""
        raise NotImplementedError

    def _screenshot(self) -> np.ndarray:
        raise NotImplementedError

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        """(raw reward, task over) after a step; `action` is None when it could not be parsed."""
        raise NotImplementedError

    def _elements(self) -> list[Element]:
        return []

    def _axtree(self) -> str:
        return format_elements(self._elements())

    def _close(self) -> None:
        return None

    def expert_action(self) -> str:
        """A scripted expert's next action as UI-TARS text (privileged: may read the page or app state)."""
        raise NotImplementedError(f"{type(self).__name__} has no scripted expert")

    @classmethod
    def has_expert(cls) -> bool:
        return cls.expert_action is not GUIEnv.expert_action

    # -- gymnasium API -----------------------------------------------------------------------------------
    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None):
        if seed is not None and (
            not isinstance(seed, (int, np.integer)) or isinstance(seed, bool) or seed < 0
        ):
            raise ValueError(f"seed: must be a non-negative integer, got {seed!r}")
        super().reset(seed=seed)
        task_seed = int(seed) if seed is not None else int(self.np_random.integers(0, 2**31 - 1))
        t0 = time.perf_counter()
        for attempt in range(self.observe_retries + 1):
            self.instruction = self._reset_task(task_seed, dict(options or {}))
            try:
                obs = self._observe()
                break
            except EnvFault:
                if attempt == self.observe_retries:
                    raise
        self._steps = 0
        self._done = False
        info = {
            "seed": task_seed,
            "elements": [e.to_dict() for e in self._last_elements],
            "timings": Timings(reset_s=time.perf_counter() - t0),
        }
        return obs, info

    def step(self, action: str | Action):
        if self._done:
            raise ResetNeeded("step() called after the episode ended (or before reset()): call reset() first")
        t0 = time.perf_counter()
        parsed, error, feedback = self._parse(action)
        fault = ""
        if parsed is not None:
            try:
                feedback = self._execute(parsed)
            except ActionError as e:
                error = str(e)
            except EnvFault as e:
                fault = str(e)
        t_act = time.perf_counter()
        self._steps += 1
        raw, over = (0.0, False)
        if not fault:
            try:
                raw, over = self._evaluate(parsed if not error else None)
            except EnvFault as e:
                fault = str(e)
            over = over or (parsed is not None and not error and parsed.verb == "finished")
        reward = float(raw >= 1.0 if self.binary_reward else raw) if over else 0.0
        terminated = over and not fault
        truncated = not terminated and (bool(fault) or self._steps >= self.max_steps)
        reason = fault or ("step budget exhausted" if truncated else "")
        try:
            obs = self._observe(feedback)
        except EnvFault as e:
            obs, truncated, reason = self._last_obs or self._blank_obs(), True, reason or str(e)
        self._done = terminated or truncated
        info: dict[str, Any] = {
            "action_error": error,
            "raw_reward": float(raw) if over else 0.0,
            "step": self._steps,
            "success": bool(terminated and reward > 0),
            "truncation_reason": reason,
            "elements": [e.to_dict() for e in self._last_elements],
            "timings": Timings(action_s=t_act - t0, step_s=time.perf_counter() - t0),
        }
        if feedback:
            info["feedback"] = feedback
        return obs, reward, terminated, truncated, info

    def render(self) -> np.ndarray | None:
        return None if self._last_obs is None else self._last_obs["screenshot"]

    def close(self) -> None:
        self._done = True
        self._close()

    # -- internals ---------------------------------------------------------------------------------------
    def _parse(self, action: str | Action) -> tuple[Action | None, str, str | None]:
        if isinstance(action, Action):
            parsed = action
        else:
            try:
                parsed = parse_action(action).action
            except ActionError as e:
                return None, str(e), None
        if parsed.verb == "shell" and not self.allow_shell:
            return None, "shell actions are disabled in this environment", None
        for p in (parsed.start, parsed.end):
            if p is not None and not (0 <= p[0] < self.width and 0 <= p[1] < self.height):
                return None, f"point {p} is outside the {self.width}x{self.height} screen", None
        return parsed, "", None

    def _blank_obs(self) -> dict[str, Any]:
        obs: dict[str, Any] = {
            "screenshot": np.zeros((self.height, self.width, 3), np.uint8),
            "instruction": self.instruction,
        }
        if self.text_mode != "off":
            obs["text"] = ""
        return obs

    def _observe(self, feedback: str | None = None) -> dict[str, Any]:
        shot = self._screenshot()
        if shot.shape != (self.height, self.width, 3) or shot.dtype != np.uint8:
            raise EnvFault(
                f"screenshot has shape {shot.shape} {shot.dtype}, expected ({self.height}, {self.width}, 3) uint8"
            )
        self._last_elements = self._elements() if self.text_mode != "off" else []
        obs: dict[str, Any] = {"screenshot": shot, "instruction": self.instruction}
        if self.text_mode == "elements":
            obs["text"] = format_elements(self._last_elements)
        elif self.text_mode == "axtree":
            obs["text"] = self._axtree()
        if feedback and "text" in obs:
            obs["text"] = f"{obs['text']}\n[output]\n{feedback}".strip()
        self._last_obs = obs
        return obs
