"""Dataset builders on real episodes (scripted expert on the toy env, tiny model's tokenizer): SFT in the
UI-TARS format, CT, grounding from env screens, RL task pools, streaming."""

from __future__ import annotations

import asyncio
from itertools import islice

import pytest

from agentrl.data.query import Query
from agentrl.data.samples import ct_samples, env_screens, grounding_samples, sft_samples, shuffled
from agentrl.data.store import TrajectoryStore
from agentrl.data.tasks import load_pool, save_pool, select, task_stats
from rollout.agent import AgentConfig
from rollout.engines.scripted import ExpertEngine, RandomClickEngine
from rollout.episode import run_episode
from rollout.local_env import LocalEnv

SEQ = "agentrl/toy.click-sequence-v0"
TARGET = "agentrl/toy.click-target-v0"
K = 2  # screenshots kept in full


@pytest.fixture(scope="module")
def episodes(tiny_tokenizer):
    async def run():
        env = LocalEnv({"sequence": (5,)})
        try:
            cfg = AgentConfig(history_images=K)
            return [
                await run_episode(ExpertEngine(tiny_tokenizer), env, tiny_tokenizer, cfg, SEQ, s)
                for s in range(3)
            ]
        finally:
            env.close()

    trajs = asyncio.run(run())
    assert all(t.success and t.num_steps == 5 for t in trajs)
    return trajs


def test_sft_samples_in_uitars_format(episodes, tiny_tokenizer):
    pad = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    samples = list(sft_samples(episodes))
    assert len(samples) == 15 and {s.kind for s in samples} == {"sft"}
    for i, s in enumerate(samples[:5]):  # the first episode, turn by turn
        turn = episodes[0].turns[i]
        assert len(s.input_ids) == len(s.loss_mask)
        assert s.input_ids.count(pad) == len(s.images) == min(i + 1, K)  # the last K screenshots only
        trained = [t for t, m in zip(s.input_ids, s.loss_mask) if m]
        assert trained == turn.response_ids  # loss on this turn's assistant tokens only
        assert s.loss_mask == sorted(s.loss_mask)  # prompt first (0), then the response (1)
        prompt = tiny_tokenizer.decode(s.input_ids[: len(s.input_ids) - len(trained)])
        assert prompt.count("Elements:") == min(i + 1, K)  # older observations are text only
        assert prompt.count("Action: click(") == i  # earlier actions as text
        assert [id(img) for img in s.images] == [id(episodes[0].images[r]) for r in turn.image_refs]


def test_ct_samples_train_on_all_text(episodes, tiny_tokenizer):
    pad = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    failed = episodes[1]
    failed.success = False  # CT includes failures
    (s,) = list(ct_samples([failed], pad))
    last = failed.turns[-1]
    assert s.input_ids == last.prompt_ids + last.response_ids and s.kind == "ct"
    assert [m for t, m in zip(s.input_ids, s.loss_mask) if t == pad] == [0] * len(s.images)
    assert s.num_trainable == len(s.input_ids) - len(s.images)
    failed.success = True


def test_grounding_from_env_screens(tiny_tokenizer):
    screens = list(env_screens(TARGET, range(6)))
    assert len(screens) == 6 and all(img.shape == (160, 160, 3) and els for img, els in screens)
    samples = list(grounding_samples(screens, tiny_tokenizer, seed=0, per_screen=2))
    assert len(samples) == 12
    kinds = set()
    pad = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for s, (img, els) in zip(samples, [sc for sc in screens for _ in range(2)]):
        assert s.input_ids.count(pad) == 1 and s.images[0] is img and s.kind == "grounding"
        n_prompt = s.loss_mask.index(1)
        question = tiny_tokenizer.decode(s.input_ids[:n_prompt])
        answer = tiny_tokenizer.decode(s.input_ids[n_prompt:], skip_special_tokens=True)
        if "Where is" in question:
            (e,) = [e for e in els if f'"{e.text}"' in question]
            assert answer == f"({e.center[0]},{e.center[1]})"
            kinds.add("where")
        else:
            (e,) = [e for e in els if f"What is at ({e.center[0]},{e.center[1]})" in question]
            assert answer == f'{e.role} "{e.text}"'
            kinds.add("what")
    assert kinds == {"where", "what"}


def test_builders_stream_from_the_store(tmp_path, episodes):
    """Samples come part by part: the first are produced before later parts are opened (here: damaged
    parts that would be reported the moment they are read)."""
    store = TrajectoryStore(tmp_path)
    for t in episodes:
        store.write([t], "r", 0)
    for p in store.parts()[1:]:
        p.write_bytes(b"damaged")
    reader = TrajectoryStore(tmp_path)
    first = list(islice(sft_samples(reader.query()), 5))
    assert [s.source for s in first] == [episodes[0].id] * 5 and reader.errors == []
    pulled = []

    def counting():
        for i in range(100):
            pulled.append(i)
            yield i

    it = shuffled(counting(), buffer=8, seed=0)
    next(it)
    assert len(pulled) == 8  # a bounded buffer, not the whole stream
    rest = list(it)
    assert len(rest) == 99 and len(pulled) == 100  # the rest still comes out, each item once


def test_rl_task_pool(tmp_path, tiny_tokenizer):
    store = TrajectoryStore(tmp_path)

    async def run():
        env = LocalEnv()
        try:
            eng = RandomClickEngine(tiny_tokenizer, seed=3)
            return [
                await run_episode(eng, env, tiny_tokenizer, AgentConfig(), TARGET, s)
                for s in range(5)
                for _ in range(4)
            ]
        finally:
            env.close()

    trajs = asyncio.run(run())
    store.write(trajs, "reject", 0)
    stats = task_stats(store, Query(run="reject"))
    assert [(t.env_id, t.seed, t.attempts) for t in stats] == [(TARGET, s, 4) for s in range(5)]
    for t in stats:
        mine = [x for x in trajs if x.seed == t.seed]
        assert t.successes == sum(x.success for x in mine)
        assert t.mean_steps == sum(x.num_steps for x in mine) / 4
        assert t.difficulty == 1 - t.successes / 4
    band = select(stats, min_rate=0.01, max_rate=0.99)
    assert band == [t for t in stats if 0 < t.successes < 4]
    path = save_pool(tmp_path / "pool.jsonl", stats)
    assert load_pool(path) == stats
    path.write_text('{"env_id": "x"}\n')
    with pytest.raises(ValueError, match="pool.jsonl:1: not a task line"):
        load_pool(path)
