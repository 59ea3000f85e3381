"""The CT/SFT loop end to end: exact resume, checkpoints that load, and refusals before any compute."""

from __future__ import annotations

import shutil

import pytest
import torch
from safetensors.torch import load_file

from agentrl.train.checkpoint import CheckpointError
from agentrl.train.data import DataError, TrainData
from agentrl.train.sft import SFTConfig, train


def _cfg(tiny_model_dir, store, out, **kw):
    base = dict(model=str(tiny_model_dir), output_dir=str(out), steps=6, log_every=1,
                data=TrainData(store=str(store), shuffle_buffer=64),
                learner={"local": True}, batch={"global_batch_size": 4, "micro_batch_size": 2},
                checkpoint={"save_every_steps": 3, "keep_last": 5})  # fmt: skip
    base.update(kw)
    return SFTConfig.model_validate(base)


class Interrupt(Exception):
    pass


def test_interrupted_and_resumed_run_is_bit_exact(tiny_model_dir, demo_store, tmp_path):
    straight = train(_cfg(tiny_model_dir, demo_store, tmp_path / "a"))

    def stop_after_checkpoint(step, metrics):
        if step == 4:
            raise Interrupt

    with pytest.raises(Interrupt):
        train(_cfg(tiny_model_dir, demo_store, tmp_path / "b"), on_step=stop_after_checkpoint)
    resumed = train(
        _cfg(tiny_model_dir, demo_store, tmp_path / "b"), resume=tmp_path / "b/checkpoints/step-000003"
    )
    a, b = load_file(str(straight / "model.safetensors")), load_file(str(resumed / "model.safetensors"))
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_ct_objective_and_tensorboard_logs(tiny_model_dir, demo_store, tmp_path):
    from transformers import AutoModelForImageTextToText

    losses = []
    final = train(
        _cfg(
            tiny_model_dir,
            demo_store,
            tmp_path / "ct",
            objective="ct",
            steps=3,
            data=TrainData(store=str(demo_store), success=None),
        ),
        on_step=lambda s, m: losses.append(m["loss"]),
    )
    assert len(losses) == 3 and all(loss > 0 for loss in losses)
    assert list((tmp_path / "ct" / "tb").glob("events.out.tfevents.*"))
    AutoModelForImageTextToText.from_pretrained(final)  # loads as is


def test_refuses_incomplete_or_foreign_checkpoints_and_empty_data(tiny_model_dir, demo_store, tmp_path):
    from agentrl.models.factory import init_model

    out = tmp_path / "r"
    train(_cfg(tiny_model_dir, demo_store, out, steps=3))
    ck = out / "checkpoints" / "step-000003"
    shutil.copytree(out / "final", ck)
    (ck / "COMPLETE").unlink()
    with pytest.raises(CheckpointError, match="is incomplete"):
        train(_cfg(tiny_model_dir, demo_store, out), resume=ck)
    small = init_model("small", tmp_path / "small")
    with pytest.raises(CheckpointError, match="hidden_size"):
        train(_cfg(tiny_model_dir, demo_store, out), resume=_with_state(small, out / "final"))
    with pytest.raises(DataError, match="no SFT samples"):
        train(_cfg(tiny_model_dir, demo_store, out, data=TrainData(store=str(demo_store), runs=["nothing"])))
    with pytest.raises(CheckpointError, match="world_size=1, this run has 2"):
        train(_cfg(tiny_model_dir, demo_store, out, learner={"world_size": 2}), resume=out / "final")


def _with_state(model_dir, donor):
    for f in ("state.json", "COMPLETE", "train_state_rank0.pt"):
        shutil.copy(donor / f, model_dir / f)
    return model_dir


def test_mismatched_images_are_refused(demo_samples, tiny_model_dir):
    import json
    from dataclasses import replace

    from agentrl.train.data import validate

    image_token_id = json.loads((tiny_model_dir / "config.json").read_text())["image_token_id"]
    bad = replace(demo_samples[0], images=[])
    with pytest.raises(DataError, match="1 image tokens but 0 images"):
        validate(bad, image_token_id)


def test_a_spent_time_budget_stops_training_and_says_so(tiny_model_dir, demo_store, tmp_path):
    import json

    steps = []
    final = train(
        _cfg(tiny_model_dir, demo_store, tmp_path / "budget", time_budget_s=0.0),
        on_step=lambda s, m: steps.append(s),
    )
    state = json.loads((final / "state.json").read_text())
    assert steps == [] and state["stopped_at_budget"] is True and state["step"] == 0
    unlimited = json.loads(
        (train(_cfg(tiny_model_dir, demo_store, tmp_path / "all", steps=2)) / "state.json").read_text()
    )
    assert unlimited["stopped_at_budget"] is False and unlimited["step"] == 2
