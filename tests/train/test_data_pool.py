"""The learner reads a routed pool (`data.pool`): the flywheel's V=1 -> SFT, V=0 -> CT hand-off."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.data.routing import CT_POOL, SFT_POOL, route_store
from agentrl.data.store import TrajectoryStore
from agentrl.data.validate import make_validator
from agentrl.train.data import DataError, TrainData, epoch_samples
from rollout.engines.scripted import ExpertEngine, RandomClickEngine
from tests.data.test_routing import TARGET, play_all


@pytest.fixture(scope="module")
def routed(tmp_path_factory, tiny_tokenizer):
    """Expert episodes in run "demos", random clicks in run "reject" (some succeed), all routed by the env."""
    store = TrajectoryStore(tmp_path_factory.mktemp("pooled"))
    experts = play_all(ExpertEngine(tiny_tokenizer), [(TARGET, s) for s in range(4)], tiny_tokenizer)
    randoms = play_all(
        RandomClickEngine(tiny_tokenizer, seed=1), [(TARGET, s) for s in range(10, 30)], tiny_tokenizer
    )
    store.write(experts, "demos", 0)
    store.write(randoms, "reject", 0)
    asyncio.run(route_store(store, make_validator("env"), dedup=False))
    return store, experts + randoms


def sources(cfg: TrainData, tiny_tokenizer, objective: str = "sft") -> set[str]:
    image_token = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    return {s.source.split(":")[0] for s in epoch_samples(cfg, objective, image_token, 0, 0)}


def test_pool_spans_runs_and_holds_only_its_members(routed, tiny_tokenizer):
    store, trajs = routed
    ids = {t.id: t for t in trajs}
    sft = sources(TrainData(store=str(store.root), pool=SFT_POOL), tiny_tokenizer)
    assert sft == store.pools.ids(SFT_POOL) and all(ids[i].success for i in sft)
    assert any(ids[i] in trajs[4:] for i in sft), "random-click successes (run 'reject') are in the SFT pool"
    ct = sources(TrainData(store=str(store.root), pool=CT_POOL, success=None), tiny_tokenizer, "ct")
    assert ct == store.pools.ids(CT_POOL) and not any(ids[i].success for i in ct) and ct
    # runs given explicitly: the pool within those runs only
    demos_only = sources(TrainData(store=str(store.root), pool=SFT_POOL, runs=["demos"]), tiny_tokenizer)
    assert demos_only == {t.id for t in trajs[:4]}


def test_unknown_pool_is_refused_naming_the_field(routed, tiny_tokenizer):
    store, _ = routed
    with pytest.raises(DataError, match=r"data.pool: no pool 'gold' .*pools: ct, sft"):
        sources(TrainData(store=str(store.root), pool="gold"), tiny_tokenizer)
