"""Expert demonstrations on the toy env, written to a real trajectory store (shared by the learner tests)."""

from __future__ import annotations

import asyncio

import pytest


@pytest.fixture(scope="session")
def demo_store(tmp_path_factory, tiny_tokenizer):
    from agentrl.data.store import StoreWriter, TrajectoryStore
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    root = tmp_path_factory.mktemp("store")

    async def make():
        env = LocalEnv()
        try:
            with StoreWriter(TrajectoryStore(root), "demos", 0) as w:
                for seed in range(24):
                    env_id = "agentrl/toy.click-sequence-v0" if seed % 2 else "agentrl/toy.click-target-v0"
                    w.add(
                        await run_episode(
                            ExpertEngine(tiny_tokenizer), env, tiny_tokenizer, AgentConfig(), env_id, seed
                        )
                    )
        finally:
            env.close()

    asyncio.run(make())
    return root


@pytest.fixture(scope="session")
def demo_samples(demo_store):
    from agentrl.data.samples import sft_samples
    from agentrl.data.store import TrajectoryStore

    return list(sft_samples(TrajectoryStore(demo_store).query()))
