"""The learner on the tiny model: equivalences (grad accumulation, world size), changed parameters, LoRA."""

from __future__ import annotations

import pytest
import torch

from agentrl.train.config import LearnerConfig, LoraSettings, OptimConfig
from agentrl.train.group import LearnerGroup
from tests.train.updates import OPT_LINEAR, assert_same_update, max_diff, weights

OPT = OptimConfig(lr=1e-3, warmup_steps=0, grad_clip=1e9)  # no clipping: compare raw updates


def test_sft_step_changes_every_trainable_parameter(tiny_model_dir, demo_samples):
    g = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OPT, total_steps=10)
    before = weights(g)
    m = g.train_step(demo_samples[:8], micro_batch_size=4)
    after = weights(g)
    assert m["tokens"] == sum(s.num_trainable for s in demo_samples[:8]) and m["skipped"] == 0
    unchanged = [k for k in before if torch.equal(before[k], after[k])]
    assert unchanged == []


def test_grad_accumulation_is_invariant(tiny_model_dir, demo_samples):
    """8 samples as 1 micro-batch of 8 == 8 micro-batches of 1 (loss normalised by global tokens)."""
    results = []
    for micro in (8, 1):
        g = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OPT_LINEAR, total_steps=10)
        w_init = weights(g)
        g.train_step(demo_samples[:8], micro_batch_size=micro)
        results.append(weights(g))
    assert_same_update(w_init, *results)


def test_masked_tokens_change_nothing(tiny_model_dir, demo_samples):
    """A sample whose loss mask is all zero contributes no gradient."""
    from dataclasses import replace

    extra = replace(demo_samples[9], loss_mask=[0] * len(demo_samples[9].loss_mask))
    results = []
    for batch in (demo_samples[:4], demo_samples[:4] + [extra]):
        g = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OPT_LINEAR, total_steps=10)
        w_init = weights(g)
        g.train_step(batch, micro_batch_size=5)
        results.append(weights(g))
    assert_same_update(w_init, *results)


@pytest.mark.slow
def test_world_size_2_fsdp2_matches_world_size_1(ray_local, tiny_model_dir, demo_samples):
    batch = demo_samples[:8]
    runs = {}
    for ws in (1, 2):
        cfg = LearnerConfig(world_size=ws, num_cpus_per_worker=1, strategy="auto")
        g = LearnerGroup(str(tiny_model_dir), cfg, OPT_LINEAR, total_steps=10)
        try:
            assert g.info[0]["strategy"] == ("fsdp2" if ws == 2 else "none")
            w_init = weights(g)
            for _ in range(2):
                m = g.train_step(batch, micro_batch_size=2)
            runs[ws] = weights(g)
            lp = g.logprobs(batch[:3])
        finally:
            g.shutdown()
        runs[f"lp{ws}"] = lp
    print(f"max |w(ws=1) - w(ws=2)| after 2 steps: {max_diff(runs[1], runs[2]):.2e}")
    assert_same_update(w_init, runs[1], runs[2])
    assert m["tokens"] == sum(s.num_trainable for s in batch)
    assert max(abs(a - b) for x, y in zip(runs["lp1"], runs["lp2"]) for a, b in zip(x, y)) < 1e-3


def test_lora_trains_adapters_and_saves_adapter_and_merged_weights(tiny_model_dir, demo_samples, tmp_path):
    from transformers import AutoModelForImageTextToText

    cfg = LearnerConfig(local=True, lora=LoraSettings(enabled=True, r=4, alpha=8))
    g = LearnerGroup(str(tiny_model_dir), cfg, OptimConfig(lr=1e-2, warmup_steps=0), total_steps=5)
    assert g.info[0]["trainable_parameters"] < 200_000
    before = weights(g)
    g.train_step(demo_samples[:4], micro_batch_size=4)
    after = weights(g)
    assert "model.language_model.layers.0.self_attn.q_proj.weight" in after
    assert not all(torch.equal(before[k], after[k]) for k in before)  # merged weights moved
    assert torch.equal(
        before["model.language_model.embed_tokens.weight"], after["model.language_model.embed_tokens.weight"]
    )
    g.save(str(tmp_path / "ck"), {})
    assert (tmp_path / "ck" / "adapter" / "adapter_model.safetensors").exists()
    merged = AutoModelForImageTextToText.from_pretrained(tmp_path / "ck")
    sd = merged.state_dict()
    k = "model.language_model.layers.0.self_attn.q_proj.weight"
    assert torch.allclose(sd[k], after[k], atol=1e-6)


def test_batched_logprobs_equal_one_sample_at_a_time(tiny_model_dir, demo_samples):
    """Screenshot samples of different lengths, right-padded into micro-batches: every token's logprob is the
    one it gets alone (padding changes nothing)."""
    group = LearnerGroup(str(tiny_model_dir), LearnerConfig(local=True), OptimConfig(), 1)
    samples = demo_samples[:10]
    assert len({len(s.input_ids) for s in samples}) > 1 and all(s.images for s in samples)
    alone, batched = group.logprobs(samples, 1), group.logprobs(samples, 4)
    for a, b in zip(alone, batched, strict=True):
        assert len(a) == len(b) and max(abs(x - y) for x, y in zip(a, b)) < 1e-4


def test_batched_critic_values_equal_one_sample_at_a_time(tiny_model_dir, demo_samples):
    """The critic's values go through the same length-sorted, right-padded micro-batches as the logprobs. The
    value head starts at zero, so it is given random weights first, or any alignment bug would pass."""
    from agentrl.train.ppo.critic import CriticWorker

    group = LearnerGroup(
        str(tiny_model_dir), LearnerConfig(local=True), OptimConfig(), 1, worker_cls=CriticWorker
    )
    torch.manual_seed(0)
    torch.nn.init.normal_(group.workers[0].model.value_head.weight)
    samples = demo_samples[:10]
    alone, batched = group.values(samples, 1), group.values(samples, 4)
    assert len({round(v, 3) for v in alone[0]}) > 10  # the values vary along a sequence
    for a, b, s in zip(alone, batched, samples, strict=True):
        assert len(a) == len(b) == len(s.input_ids) and max(abs(x - y) for x, y in zip(a, b)) < 1e-4


def test_a_checkpoint_keeps_the_tokenizer_it_trained_with(tiny_model_dir, tmp_path):
    """The start directory rewritten during training (a base rebuilt with another vocabulary) must not
    change the tokenizer a checkpoint is saved with: its weights were trained on the old token ids."""
    import shutil

    start = tmp_path / "start"
    shutil.copytree(tiny_model_dir, start)
    before = (start / "tokenizer.json").read_bytes()
    g = LearnerGroup(str(start), LearnerConfig(local=True), OPT, total_steps=1)
    (start / "tokenizer.json").write_text('{"rewritten": true}')
    g.save(str(tmp_path / "ckpt"), {"samples_seen": 0})
    g.shutdown()
    assert (tmp_path / "ckpt" / "tokenizer.json").read_bytes() == before
