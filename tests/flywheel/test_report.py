"""The report's verdicts: a checkpoint counts as above a floor or its SFT start only when it is higher and
Fisher's exact test on the suite's episodes says p < 0.05."""

from __future__ import annotations

from agentrl.flywheel.config import FlywheelConfig
from agentrl.flywheel.report import beats, suite_rows

TASK = "agentrl/toy.click-target-v0"


def _entries(success: dict[str, float], best_fixed: float) -> dict:
    base = {TASK: {"random_click": 0.1, "best_fixed_click": best_fixed, "expert": 1.0}}
    checkpoints = {name: {"success": {TASK: rate}} for name, rate in success.items()}
    return {
        "0/eval": {
            "iteration": 0, "stage": "eval", "status": "done",
            "summary": {"baselines": base, "checkpoints": checkpoints},
        }
    }  # fmt: skip


def _suite(success: dict[str, float], best_fixed: float, episodes: int = 40) -> dict:
    cfg = FlywheelConfig(domains={"toy": [TASK]}, eval={"episodes_per_task": episodes})
    return suite_rows(cfg, _entries(success, best_fixed))["toy"]


def test_a_few_points_over_the_floor_are_noise_not_a_yes():
    s = _suite({"sft": 5 / 40, "ppo-toy": 7 / 40, "merged": 6 / 40}, best_fixed=0.0)
    c = s["comparisons"]
    assert c["sft_above_best_fixed_click"]["higher"] and not s["verdicts"]["sft_above_best_fixed_click"]
    assert 0.05 < c["sft_above_best_fixed_click"]["p_value"] < 0.06  # 5/40 vs 0/40
    assert s["verdicts"]["rl_above_best_fixed_click"]  # 7/40 vs 0/40: p = 0.012
    assert c["rl_above_best_fixed_click"]["compared"] == "0/ppo-toy 7/40 vs best fixed click 0/40"
    assert not s["verdicts"]["rl_above_its_sft_start"] and c["rl_above_its_sft_start"]["higher"]


def test_clear_gains_are_yes_and_losses_are_no():
    s = _suite({"sft": 0.5, "ppo-toy": 0.8, "merged": 0.3}, best_fixed=0.1, episodes=50)
    assert all(s["verdicts"].values())
    assert s["comparisons"]["rl_above_its_sft_start"]["compared"] == "0/ppo-toy 40/50 vs 0/sft 25/50"
    s = _suite({"sft": 0.2, "ppo-toy": 0.1}, best_fixed=0.3)
    assert not any(s["verdicts"].values()) and not s["comparisons"]["sft_above_best_fixed_click"]["higher"]


def test_each_floor_is_its_own_verdict():
    # as on the main job's toy: far above a low best fixed click, and not significantly above random click
    s = _suite({"sft": 11 / 60, "ppo-toy": 11 / 60}, best_fixed=1 / 60, episodes=60)
    assert s["verdicts"]["sft_above_best_fixed_click"] and not s["verdicts"]["sft_above_random_click"]
    assert s["comparisons"]["sft_above_random_click"]["compared"] == "0/sft 11/60 vs random click 6/60"
    s = _suite({"sft": 0.5, "ppo-toy": 0.5}, best_fixed=0.2, episodes=60)
    assert s["verdicts"]["sft_above_random_click"] and s["verdicts"]["rl_above_random_click"]


def test_per_task_episodes_pool_the_suites_successes():
    # a two-task suite where one task plays 200 episodes and the other 40: the test is on the 240 episodes'
    # successes, not on the mean of the two rates times 240
    other = "agentrl/toy.click-sequence-v0"
    cfg = FlywheelConfig(
        domains={"toy": [TASK, other]}, eval={"episodes_per_task": 40, "per_task": {TASK: 200}}
    )
    base = {
        t: {"random_click": r, "best_fixed_click": 0.0, "expert": 1.0} for t, r in ((TASK, 0.2), (other, 0.5))
    }
    entries = {
        "0/eval": {
            "iteration": 0, "stage": "eval", "status": "done",
            "summary": {"baselines": base, "checkpoints": {"sft": {"success": {TASK: 0.3, other: 1.0}}}},
        }
    }  # fmt: skip
    s = suite_rows(cfg, entries)["toy"]
    assert s["episodes"] == 240 and s["rows"][0]["successes"] == 60 + 40
    assert s["comparisons"]["sft_above_random_click"]["compared"] == "0/sft 100/240 vs random click 60/240"


def test_nothing_evaluated_is_no_verdict():
    s = _suite({"untrained": 0.0}, best_fixed=0.1)
    assert not any(s["verdicts"].values())
    assert all(c["p_value"] is None for c in s["comparisons"].values())


def test_beats_is_fishers_test_on_the_counts():
    """The benchmarks' verdict: 38/200 vs 36/200 (sft_learns' old toy row, once a 'yes') is noise."""
    assert not beats(38, 200, 36, 200)["significant"] and beats(38, 200, 36, 200)["higher"]
    assert beats(60, 200, 36, 200)["significant"] and beats(60, 200, 36, 200)["p_value"] < 0.05
    assert not beats(36, 200, 60, 200)["significant"]  # significant, but lower
    assert beats(9, 20, 20, 100)["counts"] == "9/20 vs 20/100" and beats(9, 20, 20, 100)["significant"]


def test_a_stage_stopped_at_its_time_budget_says_so(tmp_path):
    from agentrl.flywheel.report import write_report

    cfg = FlywheelConfig(domains={"toy": [TASK]}, eval={"episodes_per_task": 40})
    entries = _entries({"sft": 0.5}, best_fixed=0.1)
    entries["0/sft"] = {"iteration": 0, "stage": "sft", "status": "done", "seconds": 600.0,
                        "summary": {"stopped_at_budget": True}}  # fmt: skip
    entries["0/ct"] = {
        "iteration": 0,
        "stage": "ct",
        "status": "done",
        "summary": {"stopped_at_budget": False},
    }
    write_report(cfg, entries, tmp_path)
    text = (tmp_path / "report.md").read_text()
    assert "| 0 | sft | done (stopped at its time budget) | 600.0 |" in text and "| 0 | ct | done |" in text
