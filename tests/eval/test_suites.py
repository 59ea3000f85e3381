"""Suites: the bundled ones load with registered tasks and held-out seeds; bad suites are refused."""

from __future__ import annotations

import pytest

from agentrl.config import EVAL_SEED_START, ConfigError
from agentrl.eval.suites import load_suite, suite_names

from .conftest import TOY


def test_bundled_suites_load_with_held_out_seeds():
    assert {"miniwob-easy", "miniwob-all", "desktop", "desktop-real", "toy"} <= set(suite_names())
    for name in suite_names():
        suite = load_suite(name)  # every task is registered
        assert suite.seed_start >= EVAL_SEED_START
        assert min(s for _, s in suite.plan()) == suite.seed_start
    assert len(load_suite("miniwob-all").tasks) == 130
    plan = load_suite("toy").plan(3)
    assert len(plan) == 6 and plan[:2] == [(t, EVAL_SEED_START) for t in load_suite("toy").tasks]


def test_unknown_suite_is_refused_with_a_suggestion():
    with pytest.raises(ConfigError, match="unknown 'miniwob-esy'.*did you mean 'miniwob-easy'"):
        load_suite("miniwob-esy")
    with pytest.raises(ConfigError, match="does not exist"):
        load_suite("/nonexistent/suite.yaml")


def test_unknown_task_is_refused_with_a_suggestion(suite_file):
    path = suite_file([TOY, "agentrl/miniwob.click-buton-v0"])
    with pytest.raises(ConfigError, match="click-buton-v0.*did you mean 'agentrl/miniwob.click-button-v0'"):
        load_suite(path)


def test_training_seeds_and_duplicate_tasks_are_refused(suite_file):
    with pytest.raises(ConfigError, match="seed_start.*training seeds"):
        load_suite(suite_file([TOY], seed_start=5))
    with pytest.raises(ConfigError, match="listed twice"):
        load_suite(suite_file([TOY, TOY]))
    with pytest.raises(ConfigError, match="unknown key 'taks'"):
        load_suite(suite_file([TOY], taks=[]))
