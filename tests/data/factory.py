"""Synthetic trajectories for the store tests: real `Trajectory` objects with random screenshots, made
without an env or a model (the store only sees the data), deterministic per seed so a child process can
rebuild exactly what it wrote."""

from __future__ import annotations

import numpy as np

from rollout.trajectory import Trajectory, Turn

ENV_IDS = ("agentrl/toy.click-target-v0", "agentrl/toy.click-sequence-v0", "agentrl/miniwob.click-button-v0")


def screen(rng: np.random.Generator, size: int = 32) -> np.ndarray:
    """A flat-colour screen with one random rectangle, like a UI."""
    img = np.full((size, size, 3), rng.integers(0, 256, 3), np.uint8)
    x, y = rng.integers(0, size - 8, 2)
    img[y : y + 8, x : x + 8] = rng.integers(0, 256, 3)
    return img


def make_trajectory(
    seed: int, shared: np.ndarray | None = None, policy_version: int = 0, created_at: float | None = None
) -> Trajectory:
    """2-4 turns, one screenshot per turn (the first is `shared` when given: a start screen many share)."""
    rng = np.random.default_rng(seed)
    env_id = ENV_IDS[seed % len(ENV_IDS)]
    t = Trajectory(env_id=env_id, seed=seed, instruction=f"click the box #{seed}", id=f"traj-{seed:05d}")
    t.created_at = 1_700_000_000.0 + seed if created_at is None else created_at
    for k in range(int(rng.integers(2, 5))):
        ref = t.add_image(shared if (k == 0 and shared is not None) else screen(rng))
        n_resp = int(rng.integers(3, 9))
        x, y = (int(v) for v in rng.integers(0, 32, 2))
        t.turns.append(Turn(
            prompt_ids=[int(v) for v in rng.integers(0, 5000, int(rng.integers(10, 40)))],
            response_ids=[int(v) for v in rng.integers(0, 5000, n_resp)],
            logprobs=[float(v) for v in -rng.random(n_resp)],
            text=f"Thought: go\nAction: click(start_box='({x},{y})')",
            image_refs=[ref],
            action=None if k == 1 and seed % 5 == 0 else {"verb": "click", "start": [x, y]},
            action_error="" if not (k == 1 and seed % 5 == 0) else "unparsable",
            reward=0.0, policy_version=policy_version + k % 2, finish_reason="stop",
            timings={"generate_s": float(rng.random()), "env_s": 0.01},
        ))  # fmt: skip
    t.success = seed % 2 == 0
    t.reward = float(t.success)
    t.turns[-1].reward = t.reward
    t.terminated = True
    t.meta = {"seed_group": seed % 3}
    return t


def make_batch(first: int, n: int, shared_seed: int | None = 0, **kw) -> list[Trajectory]:
    shared = None if shared_seed is None else screen(np.random.default_rng(10_000 + shared_seed))
    return [make_trajectory(first + i, shared, **kw) for i in range(n)]
