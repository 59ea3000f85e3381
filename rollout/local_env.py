"""An env in this process, stepped on its own single thread (Playwright's sync API is bound to one thread)."""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import gymnasium as gym

from envs.actions import Action


class LocalEnv:
    """`EnvLike` over envs made in this process; one env per id, reused across episodes."""

    def __init__(self, env_kwargs: dict[str, Any] | None = None) -> None:
        self.env_kwargs = dict(env_kwargs or {})
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="agentrl-env")
        self._envs: dict[str, gym.Env] = {}
        self._current: gym.Env | None = None

    def _make(self, env_id: str) -> gym.Env:
        import envs

        if env_id not in self._envs:
            self._envs[env_id] = envs.make(env_id, **self.env_kwargs)
        return self._envs[env_id]

    def _reset(self, env_id: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        self._current = self._make(env_id)
        return self._current.reset(seed=seed)

    async def reset(self, env_id: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]:
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._reset, env_id, seed)

    async def step(self, action: Action | str):
        assert self._current is not None, "reset() first"
        return await asyncio.get_running_loop().run_in_executor(self._pool, self._current.step, action)

    async def expert_action(self) -> str:
        assert self._current is not None, "reset() first"
        return await asyncio.get_running_loop().run_in_executor(
            self._pool, self._current.unwrapped.expert_action
        )

    def close(self) -> None:
        def _close_all() -> None:
            for env in self._envs.values():
                env.close()

        self._pool.submit(_close_all).result()
        self._pool.shutdown()
