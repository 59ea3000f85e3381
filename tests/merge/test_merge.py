"""Merges of real tiny Qwen2.5-VL checkpoints: exactness, hand computations, streaming == in memory, LoRA."""

from __future__ import annotations

import hashlib
import json
import math
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from safetensors.torch import load_file

from agentrl.merge import MergeSpec, merge
from agentrl.merge.methods import slerp
from agentrl.models.weights import load_state_dict_from_dir


def _sd(path: Path) -> dict[str, torch.Tensor]:
    return load_state_dict_from_dir(path)


@pytest.mark.parametrize("method", ["linear", "task_arithmetic", "slerp"])
def test_alpha_one_reproduces_the_input_bit_for_bit(ckpts, tmp_path, method):
    for i, name in enumerate("ab"):
        weights = [1.0, 0.0] if i == 0 else [0.0, 1.0]
        out = merge(MergeSpec([ckpts["a"], ckpts["b"]], weights, tmp_path / f"{name}", ckpts["base"], method))
        got, want = (
            load_file(str(out / "model.safetensors")),
            load_file(str(ckpts[name] / "model.safetensors")),
        )
        assert got.keys() == want.keys()
        for k in want:
            assert torch.equal(got[k], want[k]), k


def test_linear_matches_a_hand_computation(ckpts, tmp_path):
    w = [0.2, 0.3, 0.5]
    out = merge(MergeSpec([ckpts["a"], ckpts["b"], ckpts["c"]], w, tmp_path / "m"))
    a, b, c, m = _sd(ckpts["a"]), _sd(ckpts["b"]), _sd(ckpts["c"]), _sd(out)
    for k in a:
        torch.testing.assert_close(m[k], 0.2 * a[k] + 0.3 * b[k] + 0.5 * c[k], rtol=0, atol=1e-6)
    assert any(not torch.equal(m[k], a[k]) for k in a)


def test_task_arithmetic_extrapolates_when_allowed(ckpts, tmp_path):
    spec = MergeSpec(
        [ckpts["a"], ckpts["b"]], [1.0, 1.0], tmp_path / "m", ckpts["base"], "task_arithmetic", True
    )
    m, base, a, b = _sd(merge(spec)), _sd(ckpts["base"]), _sd(ckpts["a"]), _sd(ckpts["b"])
    for k in base:  # theta_base + (theta_a - theta_base) + (theta_b - theta_base)
        torch.testing.assert_close(m[k], base[k] + (a[k] - base[k]) + (b[k] - base[k]), rtol=0, atol=1e-6)


def test_slerp_follows_the_arc_per_tensor(ckpts, tmp_path):
    t = 0.3
    m = _sd(merge(MergeSpec([ckpts["a"], ckpts["b"]], [1 - t, t], tmp_path / "m", method="slerp")))
    a, b = _sd(ckpts["a"]), _sd(ckpts["b"])
    k = "model.language_model.layers.0.mlp.up_proj.weight"
    u0, u1 = a[k].flatten() / a[k].norm(), b[k].flatten() / b[k].norm()
    omega = math.acos(float(u0 @ u1))
    want = (math.sin((1 - t) * omega) * a[k] + math.sin(t * omega) * b[k]) / math.sin(omega)
    torch.testing.assert_close(m[k], want, rtol=0, atol=1e-6)
    # the norm is interpolated along the arc, not shrunk as a chord is: between the two norms here
    assert m[k].norm() > (0.7 * a[k] + 0.3 * b[k]).norm()
    same = slerp([a[k], a[k].clone()], [1 - t, t], None)  # parallel tensors fall back to linear
    torch.testing.assert_close(same, a[k])


def test_streaming_merge_of_sharded_checkpoints_equals_an_in_memory_merge(ckpts, tmp_path):
    from agentrl.models.loading import load_model

    sharded = {}
    for n, size in (("a", "150KB"), ("b", "400KB")):  # different shard layouts per input
        model = load_model(ckpts[n])
        model.save_pretrained(tmp_path / n, max_shard_size=size)
        for f in ckpts[n].glob("*"):
            if f.name != "model.safetensors" and not (tmp_path / n / f.name).exists():
                (tmp_path / n / f.name).write_bytes(f.read_bytes())
        sharded[n] = tmp_path / n
    assert len(list(sharded["a"].glob("*.safetensors"))) > 2
    out = merge(MergeSpec([sharded["a"], sharded["b"]], [0.4, 0.6], tmp_path / "m"))
    a, b = _sd(ckpts["a"]), _sd(ckpts["b"])
    memory = {k: 0.4 * a[k] + 0.6 * b[k] for k in a}
    merged = load_model(out).state_dict()  # transformers reads the shards through the index
    for k, v in memory.items():
        torch.testing.assert_close(merged[k], v, rtol=0, atol=1e-6)
    assert sorted(p.name for p in out.glob("*.safetensors")) == sorted(
        p.name for p in sharded["a"].glob("*.safetensors")
    )
    index = json.loads((out / "model.safetensors.index.json").read_text())
    assert set(index["weight_map"]) == set(
        json.loads((sharded["a"] / "model.safetensors.index.json").read_text())["weight_map"]
    )


def test_bfloat16_stays_bfloat16(ckpts, tmp_path):
    from tests.merge.conftest import variant

    a = variant(ckpts["base"], tmp_path / "a16", seed=7, dtype=torch.bfloat16)
    b = variant(ckpts["base"], tmp_path / "b16", seed=8, dtype=torch.bfloat16)
    m = load_file(str(merge(MergeSpec([a, b], [0.5, 0.5], tmp_path / "m")) / "model.safetensors"))
    ra, rb = load_file(str(a / "model.safetensors")), load_file(str(b / "model.safetensors"))
    for k, v in m.items():
        assert v.dtype == torch.bfloat16
        torch.testing.assert_close(v, (0.5 * ra[k].float() + 0.5 * rb[k].float()).bfloat16(), rtol=0, atol=0)


def test_merge_record_and_files(ckpts, tmp_path):
    out = merge(MergeSpec([ckpts["a"], ckpts["b"]], [0.25, 0.75], tmp_path / "m", ckpts["base"]))
    rec = json.loads((out / "config.json").read_text())["agentrl_merge"]
    assert rec["method"] == "linear" and [i["weight"] for i in rec["inputs"]] == [0.25, 0.75]
    want = hashlib.sha256(
        b"model.safetensors\0" + (ckpts["a"] / "model.safetensors").read_bytes()
    ).hexdigest()
    assert rec["inputs"][0]["sha256"] == want and rec["base"]["path"] == str(ckpts["base"].resolve())
    assert {"tokenizer.json", "chat_template.jinja", "generation_config.json"} <= {
        p.name for p in out.iterdir()
    }
    assert not list(tmp_path.glob(".m.merging-*"))  # the temporary directory was renamed into place

    from transformers import AutoConfig

    assert AutoConfig.from_pretrained(out).agentrl_merge["inputs"][1]["weight"] == 0.75


def _adapter(base: Path, out: Path, seed: int, **lora_kwargs):
    """A PEFT LoRA adapter on `base` with random (non-zero) B, saved as PEFT saves it."""
    from peft import LoraConfig, get_peft_model

    from agentrl.models.loading import load_model

    torch.manual_seed(seed)
    kw = {"r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj", "down_proj"], **lora_kwargs}
    model = get_peft_model(load_model(base), LoraConfig(**kw))
    with torch.no_grad():
        for n, p in model.named_parameters():
            if "lora_B" in n:
                p.normal_(0, 0.05)
    model.save_pretrained(out)
    return out, model


@pytest.mark.parametrize("rslora", [False, True])
def test_lora_adapter_is_merged_into_the_base_as_peft_does(ckpts, tmp_path, rslora):
    path, peft_model = _adapter(ckpts["base"], tmp_path / "adapter", seed=3, use_rslora=rslora)
    want = {k: v for k, v in peft_model.merge_and_unload().state_dict().items()}
    out = merge(MergeSpec([path], [1.0], tmp_path / "m", ckpts["base"]))
    got = _sd(out)
    changed = 0
    for k, v in want.items():
        torch.testing.assert_close(got[k], v, rtol=0, atol=1e-6)
        changed += int(not torch.equal(v, _sd(ckpts["base"])[k])) if "q_proj" in k else 0
    assert changed > 0


def test_lora_adapter_and_full_checkpoint_mix(ckpts, tmp_path):
    path, peft_model = _adapter(ckpts["base"], tmp_path / "adapter", seed=4)
    lora_full = peft_model.merge_and_unload().state_dict()
    out = merge(MergeSpec([path, ckpts["a"]], [0.5, 0.5], tmp_path / "m", ckpts["base"]))
    got, a = _sd(out), _sd(ckpts["a"])
    for k in a:
        torch.testing.assert_close(got[k], 0.5 * lora_full[k] + 0.5 * a[k], rtol=0, atol=1e-6)


def test_training_checkpoint_with_complete_marker_is_accepted(ckpts, tmp_path):
    import shutil

    step = tmp_path / "run" / "checkpoints" / "step-000010"
    shutil.copytree(ckpts["a"], step)
    (step / "state.json").write_text('{"step": 10}')
    torch.save({}, step / "train_state_rank0.pt")
    (step / "COMPLETE").write_text("")
    out = merge(MergeSpec([step, ckpts["b"]], [0.5, 0.5], tmp_path / "m"))
    assert not (out / "state.json").exists() and not (out / "COMPLETE").exists()
    assert not list(out.glob("*.pt"))


@pytest.mark.parametrize("method", ["linear", "task_arithmetic"])
def test_row_blocks_give_the_same_bytes_as_whole_tensors(ckpts, tmp_path, monkeypatch, method):
    import agentrl.merge.streaming as mm

    path, _ = _adapter(ckpts["base"], tmp_path / "adapter", seed=5)
    spec = MergeSpec([ckpts["a"], path], [0.4, 0.6], tmp_path / "whole", ckpts["base"], method)
    whole = load_file(str(merge(spec) / "model.safetensors"))
    monkeypatch.setattr(mm, "BLOCK_BYTES", 3000)  # a few rows per block: every matrix is split
    assert len(mm._row_blocks(SimpleNamespace(spec=spec), (384, 128), torch.float32)) == 192
    blocks = load_file(
        str(
            merge(MergeSpec(spec.checkpoints, spec.weights, tmp_path / "blocks", spec.base, method))
            / "model.safetensors"
        )
    )
    assert whole.keys() == blocks.keys()
    for k in whole:  # LoRA targets: B[rows] A may round differently from (B A)[rows]; the rest is exact
        if any(m in k for m in ("q_proj", "v_proj", "down_proj")):
            torch.testing.assert_close(whole[k], blocks[k], rtol=0, atol=1e-7)
        else:
            assert torch.equal(whole[k], blocks[k]), k
