"""Validation and routing against real episodes: scripted policies on the toy env, a real store, the VLM
judge through a scripted engine (exact prompt checks) and through HFEngine with the tiny model."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.data.query import Query
from agentrl.data.routing import CT_POOL, SFT_POOL, Deduper, rejection_sample, route, route_store
from agentrl.data.store import TrajectoryStore
from agentrl.data.validate import (
    VALIDATORS,
    Verdict,
    VLMJudge,
    make_validator,
    register_validator,
    validate_all,
)
from rollout.agent import AgentConfig
from rollout.engines.base import Engine, GenerationRequest, GenerationResult
from rollout.engines.scripted import ExpertEngine, RandomClickEngine
from rollout.episode import run_episode
from rollout.local_env import LocalEnv

SEQ = "agentrl/toy.click-sequence-v0"
TARGET = "agentrl/toy.click-target-v0"


def play_all(engine, episodes, tokenizer, env_kwargs=None):
    async def run():
        env = LocalEnv(env_kwargs)
        try:
            return [await run_episode(engine, env, tokenizer, AgentConfig(), e, s) for e, s in episodes]
        finally:
            env.close()

    return asyncio.run(run())


@pytest.fixture(scope="module")
def long_episode(tiny_tokenizer):
    """An expert episode of 6 clicks: more screenshots than the judge is shown."""
    (t,) = play_all(ExpertEngine(tiny_tokenizer), [(SEQ, 3)], tiny_tokenizer, {"sequence": (6,)})
    assert t.success and t.num_steps == 6
    return t


class ScriptedJudge(Engine):
    """A stand-in judge model: answers a fixed text and keeps the requests it was sent."""

    def __init__(self, answer: str) -> None:
        self.answer, self.requests = answer, []

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        self.requests.append(request)
        return GenerationResult([1], [0.0], self.answer, "stop", 0, len(request.prompt_token_ids))

    async def update_weights(self, weights, version):
        raise NotImplementedError


def test_env_validator(tiny_tokenizer):
    ok, bad = play_all(ExpertEngine(tiny_tokenizer), [(TARGET, 0)], tiny_tokenizer) + play_all(
        RandomClickEngine(tiny_tokenizer, seed=1), [(TARGET, 1)], tiny_tokenizer
    )
    env = make_validator("env")
    assert asyncio.run(env(ok)).v == 1 and ok.success
    bad.success = False
    assert asyncio.run(env(bad)) == Verdict(0, "env", f"reward {bad.reward:g}")
    ok.status, ok.reason = "error", "engine: TimeoutError"
    assert asyncio.run(env(ok)).v == 0 and "status error" in asyncio.run(env(ok)).reason
    with pytest.raises(ValueError, match="already registered"):
        register_validator("env", VALIDATORS["env"])
    with pytest.raises(ValueError, match="unknown 'oracle'; known: env, judge"):
        make_validator("oracle")


def test_judge_sees_instruction_actions_and_last_five_screenshots(long_episode, tiny_tokenizer):
    t = long_episode
    engine = ScriptedJudge("YES, it did.")
    judge = VLMJudge(engine, tiny_tokenizer)
    assert asyncio.run(judge(t)) == Verdict(1, "judge", "judge answered YES")
    (req,) = engine.requests
    text = tiny_tokenizer.decode(req.prompt_token_ids)
    pad = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    assert req.prompt_token_ids.count(pad) == 5 == len(req.images)
    screens = [u.image_refs[-1] for u in t.turns]  # the screen each action was taken on
    assert [(img == t.images[r]).all() for img, r in zip(req.images, screens[-5:])] == [True] * 5
    assert t.instruction in text and text.count("click(start_box=") == 6
    assert req.sampling.temperature == 0.0
    assert asyncio.run(VLMJudge(ScriptedJudge("No."), tiny_tokenizer)(t)).v == 0
    unsure = asyncio.run(VLMJudge(ScriptedJudge("maybe"), tiny_tokenizer)(t))
    assert unsure.v == 0 and "no YES/NO" in unsure.reason
    t.success = False
    gated = VLMJudge(ScriptedJudge("YES"), tiny_tokenizer, require_env_success=True)
    assert asyncio.run(gated(t)) == Verdict(0, "judge", "env: no success")
    t.success = True


def test_judge_with_the_tiny_model_through_hf_engine(long_episode, tiny_model_dir, tiny_tokenizer):
    """A real engine: the prompt with 5 screenshots goes through the processor and generate. The tiny
    model is untrained, so its answer is arbitrary: only that a verdict comes back is checked."""
    from rollout.engines.hf import HFEngine

    engine = HFEngine(tiny_model_dir)

    async def run():
        try:
            return await validate_all(
                make_validator("judge", engine=engine, tokenizer=tiny_tokenizer), [long_episode] * 2
            )
        finally:
            await engine.shutdown()

    verdicts = asyncio.run(run())
    assert [v.validator for v in verdicts] == ["judge"] * 2 and {v.v for v in verdicts} <= {0, 1}
    assert verdicts[0] == verdicts[1]  # greedy: the same answer twice


def test_route_and_dedup(tmp_path, tiny_tokenizer):
    expert = play_all(ExpertEngine(tiny_tokenizer), [(TARGET, 0), (TARGET, 0), (TARGET, 1)], tiny_tokenizer)
    store = TrajectoryStore(tmp_path)
    store.write(expert, "demos", 0)
    verdicts = asyncio.run(validate_all(make_validator("env"), expert))
    stats = route(store, expert, verdicts, Deduper(store))
    # seed 0 twice with the same actions: one kept; seed 1 is another task instance
    assert (stats.sft, stats.ct, stats.duplicates) == (2, 0, 1)
    assert store.pools.ids(SFT_POOL) == {expert[0].id, expert[2].id}
    # a later routing pass (a new process) still knows what the pool holds
    again = play_all(ExpertEngine(tiny_tokenizer), [(TARGET, 1), (TARGET, 2)], tiny_tokenizer)
    store.write(again, "demos", 1)
    stats = route(store, again, asyncio.run(validate_all(make_validator("env"), again)), Deduper(store))
    assert (stats.sft, stats.duplicates) == (1, 1)
    assert route(store, again, [Verdict(0, "env")] * 2, None).ct == 2  # no dedup: everything routed
    assert store.pools.ids(CT_POOL) == {t.id for t in again}


def test_route_store_streams_the_whole_store(tmp_path, tiny_tokenizer):
    trajs = play_all(
        RandomClickEngine(tiny_tokenizer, seed=0), [(TARGET, s) for s in range(10)], tiny_tokenizer
    )
    store = TrajectoryStore(tmp_path)
    store.write(trajs, "r", 0)
    stats = asyncio.run(route_store(store, make_validator("env"), batch=3))
    successes = {t.id for t in trajs if t.success}
    assert stats.sft == len(successes) and stats.sft + stats.ct + stats.duplicates == 10
    assert store.pools.ids(SFT_POOL) == successes
    assert all(t.success for t in store.query(Query(pool=SFT_POOL), with_images=False))
    assert not any(t.success for t in store.query(Query(pool=CT_POOL), with_images=False))


def test_rejection_sampling_keeps_successes(tmp_path, tiny_tokenizer):
    store = TrajectoryStore(tmp_path)
    tasks = [(TARGET, s) for s in range(4)]

    async def run(engine):
        env = LocalEnv()
        try:
            play = lambda e, s: run_episode(engine, env, tiny_tokenizer, AgentConfig(), e, s)  # noqa: E731
            return await rejection_sample(store, play, tasks, 3, make_validator("env"), iteration=1)
        finally:
            env.close()

    stats = asyncio.run(run(RandomClickEngine(tiny_tokenizer, seed=0)))
    stored = list(store.query(Query(run="reject", iteration=1), with_images=False))
    assert stats.attempts == len(stored) == 12  # every attempt is stored
    wins = {t.id for t in stored if t.success}
    assert stats.kept == len(wins) and set(stats.kept_ids) == wins
    assert sum(stats.successes_by_task.values()) == len(wins) and set(stats.successes_by_task) == {
        f"{TARGET}:{s}" for s in range(4)
    }
    assert (
        store.pools.ids(SFT_POOL) <= wins and stats.route.sft + stats.route.ct + stats.route.duplicates == 12
    )
    assert {t.meta["attempt"] for t in stored} == {0, 1, 2}
    # the expert succeeds every time with the same clicks: one SFT entry per task, the rest duplicates
    expert = asyncio.run(run(ExpertEngine(tiny_tokenizer)))
    assert expert.kept == 12 and expert.route.sft <= 4 and expert.route.duplicates >= 8
