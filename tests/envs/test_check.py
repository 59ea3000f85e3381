"""The contract checker against deliberately broken envs: it names the broken contract, says how to fix it,
never hangs, and leaves no process behind. The broken envs are toy click envs (fast) with one fault each,
checked by module path (`tests.envs.test_check:Class`), as a user checks an env before registering it."""

from __future__ import annotations

import subprocess
import time
from typing import Any

import numpy as np
import psutil
import pytest
from PIL import Image

from envs.actions import parse_action
from envs.check import CALL_FIXES, CONTRACTS, TABLE, CallLimits, check_env
from envs.toy.click import ToyClickEnv

HERE = "tests.envs.test_check"
SLEEP_S = "613.25"  # a duration no other process uses: how the leak test finds its own sleeper


class RaisesInReset(ToyClickEnv):
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        raise RuntimeError("task database offline")


class RaisesInStep(ToyClickEnv):
    def _execute(self, action):
        raise KeyError("no such widget")


class WrongObsType(ToyClickEnv):
    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return {**obs, "screenshot": Image.fromarray(obs["screenshot"])}, info


class FloatScreenshot(ToyClickEnv):
    def reset(self, *, seed=None, options=None):
        obs, info = super().reset(seed=seed, options=options)
        return {**obs, "screenshot": obs["screenshot"].astype(np.float32) / 255}, info


class NeverTerminates(ToyClickEnv):
    @classmethod
    def has_expert(cls) -> bool:
        return False

    def step(self, action):
        obs, _, _, _, info = super().step("wait()")
        self._done = False
        return obs, 0.0, False, False, info


class HangsInStep(ToyClickEnv):
    def _execute(self, action):
        time.sleep(3600)


class LeaksProcess(ToyClickEnv):
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        self.helper = subprocess.Popen(["sleep", SLEEP_S])  # started every episode, never stopped
        return super()._reset_task(seed, options)


class Unseeded(ToyClickEnv):
    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        return super()._reset_task(time.perf_counter_ns(), options)


class CrashesOnJunk(ToyClickEnv):
    def step(self, action):
        parse_action(action)  # raises ActionError on junk, out of step
        return super().step(action)


class NoActionError(ToyClickEnv):
    def step(self, action):
        obs, reward, terminated, truncated, info = super().step(action)
        return obs, reward, terminated, truncated, {**info, "action_error": ""}


class ExpertRaises(ToyClickEnv):
    def expert_action(self) -> str:
        raise LookupError("the target moved")


class CloseRaises(ToyClickEnv):
    def close(self) -> None:
        super().close()
        raise OSError("socket already closed")


def check(name: str, **kwargs: Any):
    return check_env(f"{HERE}:{name}", episodes=1, **kwargs)


def assert_fails(report, contract: str, *phrases: str) -> None:
    c = report.get(contract)
    assert c.status == "fail", report.contracts
    text = f"{c.detail} {c.fix}"
    for phrase in phrases:
        assert phrase in text, (phrase, text)
    assert not report.ok and c.fix


def test_a_good_env_passes_every_contract():
    report = check_env("agentrl/toy.click-target-v0", episodes=2)
    assert [c.name for c in report.contracts] == list(CONTRACTS)
    assert report.ok and all(c.status == "pass" for c in report.contracts), report.contracts
    assert report.expert_success_rate == 1.0
    assert len(report.latency_s["reset"]) >= 4 and "p95" in report.get("latency").detail


def test_raises_in_reset_names_the_call_and_where():
    report = check("RaisesInReset")
    assert_fails(report, "observation", "reset raised RuntimeError: task database offline", "test_check.py")
    assert report.get("make").status == "pass"
    assert report.get("determinism").status == "skip"


def test_raises_in_step():
    report = check("RaisesInStep")
    assert_fails(report, "termination", "step raised KeyError", "info['action_error']")


def test_wrong_observation_types():
    assert_fails(check("WrongObsType"), "observation", "obs['screenshot'] is Image", "(H, W, 3) uint8")
    assert_fails(check("FloatScreenshot"), "observation", "float32 (160, 160, 3)")


def test_never_terminates_is_caught_by_the_step_cap():
    report = check("NeverTerminates", step_cap=25)
    assert_fails(report, "termination", "no terminated or truncated after 25 steps", "max_steps")


def test_a_hanging_step_is_killed_and_named():
    report = check("HangsInStep", limits=CallLimits(step_s=2.0))
    assert_fails(report, "termination", "step did not return within 2 s", "bounded time")
    skipped = [c for c in report.contracts if c.status == "skip"]
    assert {c.name for c in skipped} >= {"isolation", "determinism", "clean close"}
    assert all("did not return" in c.detail for c in skipped)


def test_a_leaked_process_is_found_and_killed_afterwards():
    report = check("LeaksProcess")
    assert_fails(report, "clean close", "processes: pid", f"sleep {SLEEP_S}", "close() must stop")
    assert report.get("determinism").status == "pass"
    left = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", SLEEP_S]]
    assert left == []


def test_unseeded_task_fails_determinism_and_isolation():
    report = check("Unseeded")
    assert_fails(report, "determinism", "fresh instance differs", "Math.seedrandom")
    assert_fails(report, "isolation", "differs from the first reset")


def test_junk_actions_must_not_raise_and_must_be_explained():
    report = check("CrashesOnJunk")
    assert_fails(report, "actions", "step raised ActionError", "info['action_error']")
    assert report.get("observation").status == "pass"
    assert_fails(
        check("NoActionError"), "actions", "step('') gave reward 0.0, terminated=False, action_error=''"
    )


# -- the contract table ------------------------------------------------------------------------------------
def test_the_table_runs_every_contract_once_and_each_that_can_fail_has_a_fix():
    assert tuple(c.name for c in TABLE) == CONTRACTS and len(set(CONTRACTS)) == len(CONTRACTS)
    # make fails only by raising (the make call's fix); latency never fails
    assert [c.name for c in TABLE if not c.fix] == ["make", "latency"]
    assert [c.name for c in TABLE if c.always] == ["latency"]


@pytest.mark.parametrize(
    ("env", "contract"),
    [("NoActionError", "actions"), ("Unseeded", "determinism"), ("WrongObsType", "observation")],
)
def test_a_planted_fault_is_filed_under_its_contract_with_that_contracts_fix(env: str, contract: str):
    report = check(env)
    failed = report.failed()
    assert [c.name for c in failed if c.name == contract] == [contract], report.contracts
    assert report.get(contract).fix == next(c.fix for c in TABLE if c.name == contract)


def test_a_call_one_contract_owns_is_filed_under_it_wherever_it_fails():
    # the expert's action is asked for while the termination contract plays; the failure is the expert's
    report = check("ExpertRaises")
    assert_fails(report, "expert", "expert raised LookupError: the target moved")
    assert report.get("expert").fix == CALL_FIXES["expert"]
    assert report.get("termination").status == "skip"
    # the first close() runs before the determinism contract's fresh instance; the failure is clean close's
    report = check("CloseRaises")
    assert_fails(report, "clean close", "close raised OSError: socket already closed")
    assert report.get("clean close").fix == CALL_FIXES["close"]
    assert report.get("isolation").status == "pass" and report.get("determinism").status == "skip"
