"""Inputs that cannot be merged are refused before any work, with the promised one-line errors."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from safetensors.torch import load_file, save_file

from agentrl.merge import MergeError, MergeSpec, merge


def _edit_tensors(src: Path, out: Path, fn) -> Path:
    shutil.copytree(src, out)
    sd = fn(load_file(str(out / "model.safetensors")))
    save_file(sd, str(out / "model.safetensors"), metadata={"format": "pt"})
    return out


def _refused(spec: MergeSpec, *needles: str) -> str:
    with pytest.raises(MergeError) as e:
        merge(spec)
    msg = str(e.value)
    assert "\n" not in msg
    for n in needles:
        assert n in msg, msg
    assert not spec.out.exists() and not list(spec.out.parent.glob(f".{spec.out.name}.merging-*"))
    return msg


T = "model.layers.1.mlp.up_proj.weight"  # disk name


def test_shape_mismatch_names_the_tensor(ckpts, tmp_path):
    bad = _edit_tensors(ckpts["a"], tmp_path / "bad", lambda sd: {**sd, T: torch.zeros(3, 7)})
    _refused(MergeSpec([ckpts["a"], bad], [0.5, 0.5], tmp_path / "m"), T, "[3, 7]", "[384, 128]", str(bad))


def test_dtype_mismatch_names_the_tensor(ckpts, tmp_path):
    bad = _edit_tensors(ckpts["a"], tmp_path / "bad", lambda sd: {**sd, T: sd[T].bfloat16()})
    _refused(MergeSpec([ckpts["a"], bad], [0.5, 0.5], tmp_path / "m"), T, "BF16", "F32")


def test_missing_tensor_is_named(ckpts, tmp_path):
    bad = _edit_tensors(ckpts["a"], tmp_path / "bad", lambda sd: {k: v for k, v in sd.items() if k != T})
    _refused(MergeSpec([ckpts["a"], bad], [0.5, 0.5], tmp_path / "m"), T, "not in")


def test_other_architecture_is_refused(ckpts, tmp_path):
    bad = tmp_path / "bad"
    shutil.copytree(ckpts["a"], bad)
    cfg = json.loads((bad / "config.json").read_text())
    cfg["text_config"]["rope_parameters"]["rope_theta"] = 10000.0  # same tensors, another model
    (bad / "config.json").write_text(json.dumps(cfg))
    _refused(
        MergeSpec([ckpts["a"], bad], [0.5, 0.5], tmp_path / "m"),
        "architecture",
        "text_config.rope_parameters.rope_theta",
        "10000.0",
    )


def test_other_tokenizer_is_refused(ckpts, tmp_path):
    from agentrl.models.factory import init_model

    other = init_model("tiny", tmp_path / "other", seed=5)  # another seed trains another tokenizer
    _refused(
        MergeSpec([ckpts["a"], other], [0.5, 0.5], tmp_path / "m"), "tokenizer", "tokenizer.json", str(other)
    )


@pytest.mark.parametrize(
    "weights,needle",
    [
        ([0.7, 0.7], "must sum to 1"),
        ([1.5, -0.5], "must be >= 0"),
        ([0.5], "1 given for 2"),
        ([float("nan"), 1.0], "finite"),
    ],
)
def test_bad_weights_are_refused(ckpts, tmp_path, weights, needle):
    msg = _refused(MergeSpec([ckpts["a"], ckpts["b"]], weights, tmp_path / "m"), needle)
    if "sum" in needle or ">=" in needle:
        assert "--allow-extrapolation" in msg


def test_method_constraints(ckpts, tmp_path):
    abc = [ckpts["a"], ckpts["b"], ckpts["c"]]
    _refused(MergeSpec(abc, [0.2, 0.3, 0.5], tmp_path / "m", method="slerp"), "slerp", "exactly 2")
    _refused(MergeSpec(abc[:2], [0.5, 0.5], tmp_path / "m", method="task_arithmetic"), "--base")
    _refused(MergeSpec(abc[:2], [0.5, 0.5], tmp_path / "m", method="ties"), "unknown 'ties'", "linear")


def test_incomplete_training_checkpoint_is_refused(ckpts, tmp_path):
    step = tmp_path / "run" / "checkpoints" / "step-000010"
    shutil.copytree(ckpts["a"], step)
    (step / "state.json").write_text('{"step": 10}')  # no COMPLETE: the save was interrupted
    _refused(MergeSpec([step, ckpts["b"]], [0.5, 0.5], tmp_path / "m"), "incomplete", "COMPLETE")
    _refused(
        MergeSpec([tmp_path / "run", ckpts["b"]], [0.5, 0.5], tmp_path / "m"),
        "training output",
        "checkpoints",
    )
    _refused(MergeSpec([tmp_path / "nope", ckpts["b"]], [0.5, 0.5], tmp_path / "m"), "does not exist")


def test_lora_adapter_without_base_and_unsupported_variants(ckpts, tmp_path):
    from peft import LoraConfig, get_peft_model

    from agentrl.models.loading import load_model

    get_peft_model(load_model(ckpts["base"]), LoraConfig(r=2, target_modules=["q_proj"])).save_pretrained(
        tmp_path / "ad"
    )
    _refused(MergeSpec([tmp_path / "ad"], [1.0], tmp_path / "m"), "needs --base", "ad")
    cfg = json.loads((tmp_path / "ad" / "adapter_config.json").read_text())
    (tmp_path / "ad" / "adapter_config.json").write_text(json.dumps({**cfg, "use_dora": True}))
    _refused(MergeSpec([tmp_path / "ad"], [1.0], tmp_path / "m", ckpts["base"]), "use_dora", "not supported")


def test_existing_output_is_not_overwritten(ckpts, tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "keep.txt").write_text("x")
    with pytest.raises(MergeError, match="exists and is not an empty directory"):
        merge(MergeSpec([ckpts["a"], ckpts["b"]], [0.5, 0.5], tmp_path / "m"))
    assert (tmp_path / "m" / "keep.txt").read_text() == "x"
    with pytest.raises(MergeError, match="inside"):
        merge(MergeSpec([ckpts["a"], ckpts["b"]], [0.5, 0.5], ckpts["a"] / "sub"))
