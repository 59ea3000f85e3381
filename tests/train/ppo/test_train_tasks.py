"""The training task stream: GRPO groups of one (task, seed), tasks round-robin, new seeds or a fixed set."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from agentrl.train.ppo.config import RolloutPool
from agentrl.train.ppo.loop import train_tasks


def _take(pool: RolloutPool, n: int, start: int = 0) -> list[tuple[str, int]]:
    return list(itertools.islice(train_tasks(pool, start), n))


def test_groups_share_a_seed_and_seeds_are_new_by_default():
    pool = RolloutPool(tasks=["a", "b"], group_size=2, seed_start=10)
    assert _take(pool, 8) == [
        ("a", 10),
        ("a", 10),
        ("b", 11),
        ("b", 11),
        ("a", 12),
        ("a", 12),
        ("b", 13),
        ("b", 13),
    ]


def test_seed_count_cycles_over_a_fixed_training_set_and_resumes_in_place():
    pool = RolloutPool(tasks=["a", "b"], group_size=2, seed_count=4)
    stream = _take(pool, 24)
    assert sorted(set(stream)) == [("a", 0), ("a", 2), ("b", 1), ("b", 3)]
    assert stream[:8] == stream[8:16] == stream[16:]
    assert _take(pool, 4, start=10) == stream[10:14]  # a resumed run continues the same cycle


def test_seed_count_must_not_be_negative():
    with pytest.raises(ValidationError, match="seed_count"):
        RolloutPool(seed_count=-1)
