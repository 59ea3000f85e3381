"""Fresh expert demos during SFT (agentrl.train.fresh): a fresh task's recorded samples are swapped for new
scripted-expert ones on new seeds, the others pass through, a resumed stream never repeats a seed. Real toy
envs and the real store."""

from __future__ import annotations

import itertools

import pytest
from pydantic import ValidationError

from agentrl.train.data import TrainData, sample_stream
from agentrl.train.fresh import FreshDemos, FreshDemosError, check_tasks

TARGET = "agentrl/toy.click-target-v0"


def _seed(source: str) -> int:
    return int(source.rsplit(":", 1)[1])


def _stream(store, tok, cfg: TrainData, n: int, skip: int = 0):
    image = tok.convert_tokens_to_ids("<|image_pad|>")
    return list(itertools.islice(sample_stream(cfg, "sft", image, 0, skip=skip, tokenizer=tok), n))


def test_fresh_task_samples_are_new_demos_in_the_same_places(demo_store, tiny_tokenizer):
    plain = _stream(demo_store, tiny_tokenizer, TrainData(store=str(demo_store)), 60)
    cfg = TrainData(store=str(demo_store), fresh=FreshDemos(tasks=[TARGET], seed_start=700_000))
    fresh = _stream(demo_store, tiny_tokenizer, cfg, 60)
    assert [s.task for s in fresh] == [s.task for s in plain]  # the batch composition is the store's
    targets = [s for s in fresh if s.task == TARGET]
    assert len(targets) >= 20
    seeds = [_seed(s.source) for s in targets]
    assert seeds == sorted(seeds) and len(set(seeds)) == len(seeds) and seeds[0] >= 700_000
    recorded = {tuple(s.input_ids) for s in plain if s.task == TARGET}
    assert not recorded & {tuple(s.input_ids) for s in targets}  # none of the recorded demos comes back
    assert all(s.num_trainable > 0 and len(s.images) == 1 for s in targets)
    others = [(a.source, a.input_ids) for a, b in zip(fresh, plain, strict=True) if a.task != TARGET]
    assert others == [(b.source, b.input_ids) for b in plain if b.task != TARGET]


def test_a_resumed_stream_plays_seeds_past_those_it_skipped(demo_store, tiny_tokenizer):
    cfg = TrainData(store=str(demo_store), fresh=FreshDemos(tasks=[TARGET]))
    first = _stream(demo_store, tiny_tokenizer, cfg, 30)
    used = max(_seed(s.source) for s in first if s.task == TARGET)
    resumed = _stream(demo_store, tiny_tokenizer, cfg, 20, skip=30)
    assert min(_seed(s.source) for s in resumed if s.task == TARGET) > used


def test_bad_fresh_tasks_are_refused_naming_the_field():
    with pytest.raises(FreshDemosError, match="data.fresh.tasks: unknown env id 'agentrl/nope-v0'"):
        check_tasks(FreshDemos(tasks=["agentrl/nope-v0"]))
    with pytest.raises(ValidationError, match="seed_start must be in"):
        FreshDemos(seed_start=1_000_000)
