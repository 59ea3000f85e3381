"""A bad PPO config fails when it loads, before any actor starts, with one line naming the field."""

from __future__ import annotations

import pytest

from agentrl.config import ConfigError, load_config
from agentrl.train.ppo.config import PPOConfig


@pytest.mark.parametrize(("override", "message"), [
    ("advantage.estimator=gea", r"key 'advantage\.estimator': .*unknown estimator 'gea'; registered: gae, grpo"),
    ("staleness.policy=downweigth", r"key 'staleness\.policy'"),
    ("estimator=grpo", r"unknown key 'estimator'"),  # one field only: advantage.estimator
    ("pool.group_size=5", r"pool\.min_batch=16: must be a positive multiple of pool\.group_size=5"),
])  # fmt: skip
def test_bad_values_fail_at_load_naming_the_field(override, message):
    with pytest.raises(ConfigError, match=message) as e:
        load_config(PPOConfig, "configs/ppo_tiny.yaml", [override])
    assert "\n" not in str(e.value)
