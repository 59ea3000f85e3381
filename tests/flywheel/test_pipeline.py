"""The flywheel end to end (two short iterations on the toy task), its ledger, resume and refusals."""

from __future__ import annotations

import json
import math

import pytest

from agentrl.config import ConfigError
from agentrl.flywheel import pipeline, stages
from agentrl.flywheel.config import STAGES, FlywheelConfig

TOY = {"toy": ["agentrl/toy.click-target-v0"]}


def _cfg(tmp_path, tiny_model_dir, **over) -> FlywheelConfig:
    base = dict(
        output_dir=str(tmp_path / "fw"), model=str(tiny_model_dir), iterations=2, domains=TOY,
        demos={"episodes_per_task": 16}, ct={"steps": 2, "later_steps": 1}, sft={"steps": 3, "later_steps": 2},
        ppo={"iterations": 1, "overrides": ["pool.min_batch=4", "pool.max_batch=8", "agent.max_steps=2",
                                            "value_pretrain_iterations=0", "ray.num_cpus=2"]},
        eval={"episodes_per_task": 3, "baseline_train_seeds": 2, "baseline_grid_step": 80},
        reject={"seeds_per_task": 3, "attempts": 2},
    )  # fmt: skip
    base.update(over)
    return FlywheelConfig(**base)


@pytest.mark.slow
def test_two_iterations_run_every_stage_and_report_numbers(tmp_path, tiny_model_dir, ray_local):
    sft = {"steps": 3, "later_steps": 2, "fresh_tasks": TOY["toy"], "shift_max_frac": 0.1}  # fresh toy demos
    cfg = _cfg(tmp_path, tiny_model_dir, sft=sft)
    report = pipeline.run(cfg, log=lambda m: None)
    ledger = json.loads((tmp_path / "fw" / "state.json").read_text())
    for it in range(2):
        for stage in STAGES:
            want = "not-applicable" if (stage, it) == ("demos", 1) else "done"
            assert ledger[f"{it}/{stage}"]["status"] == want, (it, stage, ledger[f"{it}/{stage}"])
    data = json.loads((tmp_path / "fw" / "report.json").read_text())
    rows = data["suites"]["toy"]["rows"]
    assert [(r["iteration"], r["checkpoint"]) for r in rows] == [
        (0, "untrained"), (0, "sft"), (0, "ppo-toy"), (0, "merged"), (1, "sft"), (1, "ppo-toy"), (1, "merged")
    ]  # fmt: skip
    assert all(0.0 <= r["mean"] <= 1.0 for r in rows)  # a number, not NaN
    assert set(data["suites"]["toy"]["baselines"]) == {"random_click", "best_fixed_click", "expert"}
    assert data["suites"]["toy"]["baselines"]["expert"] == 1.0
    assert set(data["v1_fraction"]) == {"0", "1"}
    md = report.read_text()
    assert "best fixed click" in md and "nan" not in md.lower()
    html = (tmp_path / "fw" / "report.html").read_text()
    assert "<svg" in html and "polyline" in html
    # the merged model of iteration 0 is where iteration 1 started
    assert ledger["1/ct"]["summary"]["start"].endswith("iter-0/merged/final")


def test_skipped_stage_is_recorded_and_a_failed_stage_is_named_then_resumed(
    tmp_path, tiny_model_dir, monkeypatch
):
    cfg = _cfg(tmp_path, tiny_model_dir, iterations=1, stages=["demos", "sft", "eval"])
    calls = {"eval": 0}
    real_eval = stages.STAGE_FUNCTIONS["eval"]

    def flaky_eval(ctx, it):  # a fault injected into a real pipeline: the first eval attempt fails
        calls["eval"] += 1
        if calls["eval"] == 1:
            raise RuntimeError("engine died")
        return real_eval(ctx, it)

    monkeypatch.setitem(stages.STAGE_FUNCTIONS, "eval", flaky_eval)
    with pytest.raises(
        pipeline.StageError, match="stage 'eval' of iteration 0 failed: RuntimeError: engine died"
    ):
        pipeline.run(cfg, log=lambda m: None)
    ledger = json.loads((tmp_path / "fw" / "state.json").read_text())
    assert ledger["0/ct"]["status"] == "skipped" and ledger["0/ppo"]["status"] == "skipped"
    assert ledger["0/sft"]["status"] == "done" and ledger["0/eval"]["status"] == "failed"
    sft_mtime = (tmp_path / "fw" / "iter-0" / "sft" / "final" / "COMPLETE").stat().st_mtime
    pipeline.run(cfg, log=lambda m: None)  # continues at eval: demos and SFT are not redone
    ledger = json.loads((tmp_path / "fw" / "state.json").read_text())
    assert ledger["0/eval"]["status"] == "done" and calls["eval"] == 2
    assert (tmp_path / "fw" / "iter-0" / "sft" / "final" / "COMPLETE").stat().st_mtime == sft_mtime
    rows = json.loads((tmp_path / "fw" / "report.json").read_text())["suites"]["toy"]["rows"]
    assert [r["checkpoint"] for r in rows] == ["untrained", "sft"] and not math.isnan(rows[1]["mean"])
    assert "| 0 | ppo | skipped |" in (tmp_path / "fw" / "report.md").read_text()


def test_demos_per_task_sets_each_tasks_share_of_the_stream(tmp_path, tiny_model_dir):
    target, sequence = "agentrl/toy.click-target-v0", "agentrl/toy.click-sequence-v0"
    cfg = _cfg(
        tmp_path, tiny_model_dir, iterations=1, stages=["demos"], domains={"toy": [target, sequence]},
        demos={"episodes_per_task": 2, "per_task": {target: 6}},
    )  # fmt: skip
    pipeline.run(cfg, log=lambda m: None)
    from agentrl.data.store import TrajectoryStore

    rows = list(TrajectoryStore(tmp_path / "fw" / "store").rows())
    assert sorted((r["env_id"], r["seed"]) for r in rows) == sorted(
        [(target, s) for s in range(6)] + [(sequence, s) for s in range(2)]
    )
    # interleaved in proportion: each half of the stream holds one of the 2 sequence episodes
    tasks = [r["env_id"] for r in rows]
    assert tasks[:4].count(sequence) == 1 and tasks[4:].count(sequence) == 1, tasks
    assert cfg.demos.seeds_used(cfg.tasks) == 6  # rejection sampling and PPO start past seed 5


def test_refusals_before_the_first_stage(tmp_path, tiny_model_dir):
    with pytest.raises(ConfigError, match=r"ppo: the PPO config .* reserves .* CPUs .* this machine has 0.5"):
        pipeline.run(_cfg(tmp_path, tiny_model_dir, max_cpus=0.5), log=lambda m: None)
    assert not (tmp_path / "fw").exists()  # nothing started
    import envs

    with pytest.raises(envs.UnknownEnvError, match="did you mean"):
        pipeline.run(
            _cfg(tmp_path, tiny_model_dir, domains={"toy": ["agentrl/toy.click-targt-v0"]}), log=print
        )
    with pytest.raises(
        ValueError, match=r"sft.fresh_tasks: \['agentrl/toy.click-sequence-v0'\] are not among"
    ):
        _cfg(tmp_path, tiny_model_dir, sft={"fresh_tasks": ["agentrl/toy.click-sequence-v0"]})
    with pytest.raises(
        ValueError, match=r"demos.per_task: \['agentrl/toy.click-sequence-v0'\] are not among"
    ):
        _cfg(tmp_path, tiny_model_dir, demos={"per_task": {"agentrl/toy.click-sequence-v0": 10}})
    with pytest.raises(ValueError, match="demos.per_task: episodes must be >= 0"):
        _cfg(tmp_path, tiny_model_dir, demos={"per_task": {TOY["toy"][0]: -1}})
    with pytest.raises(ValueError, match="eval.per_task: episodes must be >= 1"):
        _cfg(tmp_path, tiny_model_dir, eval={"per_task": {TOY["toy"][0]: 0}})
    with pytest.raises(ValueError, match="merge.weights"):
        _cfg(tmp_path, tiny_model_dir, merge={"weights": {"other": 1.0}})
