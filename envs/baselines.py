"""The floors every learned policy is judged against, for any GUIEnv: random click and best fixed click.

- Random click: a uniformly random screen point every step (seeded), until the episode ends.
- Best fixed click: the single screen point that, clicked on every seed, succeeds most often on the
  training seeds (`best_fixed_click`). A policy that has not looked at the screen can do no better than
  it with one click; a policy that beats it has learned to use the observation. Evaluate the point on
  held-out seeds with `fixed_click_success`.

The scripted expert (`env.expert_action()`) is the ceiling; reports put all three beside a learned policy.
`run_scripted_episode` plays any scripted policy (a callable from the env and its observation to UI-TARS action
text) on a raw env; model-driven episodes are rollout.episode.run_episode.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

import envs
from envs.actions import Action, format_response
from envs.core.gui_env import GUIEnv

Policy = Callable[[GUIEnv, dict[str, Any]], str]


@dataclass
class Episode:
    seed: int
    success: bool
    reward: float
    steps: int
    actions: list[str] = field(default_factory=list)
    frames: list[np.ndarray] = field(default_factory=list)  # screenshots: after reset, then after each step
    truncation_reason: str = ""


def run_scripted_episode(env: GUIEnv, policy: Policy, seed: int, keep_frames: bool = False) -> Episode:
    """Reset `env` with `seed` and let `policy` act until the episode ends (terminated or truncated)."""
    obs, _ = env.reset(seed=seed)
    ep = Episode(seed=seed, success=False, reward=0.0, steps=0)
    if keep_frames:
        ep.frames.append(obs["screenshot"])
    done = False
    while not done:
        action = policy(env, obs)
        obs, reward, terminated, truncated, info = env.step(action)
        ep.actions.append(action)
        ep.reward += float(reward)
        ep.steps += 1
        if keep_frames:
            ep.frames.append(obs["screenshot"])
        done = terminated or truncated
        ep.success = bool(info["success"])
        ep.truncation_reason = info["truncation_reason"]
    return ep


def expert_policy(env: GUIEnv, obs: dict[str, Any]) -> str:
    return env.expert_action()


class RandomClick:
    """Clicks a uniformly random point of the screen at every step; `seed` fixes the sequence."""

    def __init__(self, seed: int = 0) -> None:
        self.rng = random.Random(seed)

    def __call__(self, env: GUIEnv, obs: dict[str, Any]) -> str:
        point = (self.rng.randrange(env.width), self.rng.randrange(env.height))
        return format_response(Action("click", point), "I click a random point.")


class FixedClick:
    """Clicks the same point at every step."""

    def __init__(self, point: tuple[int, int]) -> None:
        self.point = point

    def __call__(self, env: GUIEnv, obs: dict[str, Any]) -> str:
        return format_response(Action("click", self.point), "I click the same point as always.")


@dataclass(frozen=True)
class BaselineResult:
    env_id: str
    policy: str  # "random-click", "fixed-click (x,y)"
    successes: int
    episodes: int

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0


@dataclass(frozen=True)
class FixedClickSearch:
    env_id: str
    point: tuple[int, int]  # the best point (screen pixels)
    successes: int  # on the training seeds
    episodes: int
    grid_step: int
    rates: dict[tuple[int, int], float]  # every grid point's success rate

    @property
    def success_rate(self) -> float:
        return self.successes / self.episodes if self.episodes else 0.0


def _unwrapped(env_id: str, env_kwargs: dict[str, Any]) -> GUIEnv:
    env = envs.make(env_id, **env_kwargs).unwrapped
    assert isinstance(env, GUIEnv), f"{env_id} is not a GUIEnv"
    return env


def random_click_success(
    env_id: str, seeds: Sequence[int], policy_seed: int = 0, **env_kwargs: Any
) -> BaselineResult:
    """Success of the random-click policy over `seeds` (each episode runs to its end)."""
    env = _unwrapped(env_id, {"text_mode": "off", **env_kwargs})
    policy = RandomClick(policy_seed)
    try:
        wins = sum(run_scripted_episode(env, policy, s).success for s in seeds)
    finally:
        env.close()
    return BaselineResult(env_id, "random-click", wins, len(seeds))


def fixed_click_success(
    env_id: str, point: tuple[int, int], seeds: Sequence[int], clicks: int = 1, **env_kwargs: Any
) -> BaselineResult:
    """Success of clicking `point` up to `clicks` times per episode over `seeds`."""
    env = _unwrapped(env_id, {"text_mode": "off", "max_steps": clicks, **env_kwargs})
    try:
        wins = sum(run_scripted_episode(env, FixedClick(point), s).success for s in seeds)
    finally:
        env.close()
    return BaselineResult(env_id, f"fixed-click {point}", wins, len(seeds))


def grid(width: int, height: int, step: int) -> list[tuple[int, int]]:
    """Centres of a `step`-pixel grid over the screen, row by row."""
    if step < 1:
        raise ValueError(f"grid_step: must be >= 1, got {step}")
    return [(x, y) for y in range(step // 2, height, step) for x in range(step // 2, width, step)]


def best_fixed_click(
    env_id: str, seeds: Sequence[int], grid_step: int = 20, clicks: int = 1, **env_kwargs: Any
) -> FixedClickSearch:
    """The grid point whose fixed-click policy (up to `clicks` clicks per episode) succeeds on the most
    training `seeds`; ties go to the first point in row order. Costs len(grid) x len(seeds) episodes."""
    if not seeds:
        raise ValueError("seeds: need at least one training seed")
    env = _unwrapped(env_id, {"text_mode": "off", "max_steps": clicks, **env_kwargs})
    counts: dict[tuple[int, int], int] = {}
    try:
        for point in grid(env.width, env.height, grid_step):
            policy = FixedClick(point)
            counts[point] = sum(run_scripted_episode(env, policy, s).success for s in seeds)
    finally:
        env.close()
    best = max(counts, key=lambda p: counts[p])  # max keeps the first of equals
    return FixedClickSearch(
        env_id, best, counts[best], len(seeds), grid_step, {p: c / len(seeds) for p, c in counts.items()}
    )
