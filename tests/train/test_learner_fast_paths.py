"""The learner's fast paths give the same numbers as the plain ones: packed rows vs padded rows, token-budget
micro-batches, one attention call per window length vs transformers' per-window loop, a frozen vision tower
with cached features, bf16 parameters with fp32 master weights. Tiny model on the CPU, real samples."""

from __future__ import annotations

import copy

import pytest
import torch

from agentrl.train.batch import token_micro_batches
from agentrl.train.config import LearnerConfig, OptimConfig
from agentrl.train.group import LearnerGroup
from tests.train.updates import OPT_LINEAR, assert_same_update, max_diff, weights

OPT = OptimConfig(lr=1e-3, warmup_steps=0, grad_clip=1e9)


def _group(model_dir, opt: OptimConfig = OPT, **kw):
    return LearnerGroup(str(model_dir), LearnerConfig(local=True, **kw), opt, total_steps=10)


def test_packed_rows_give_the_padded_loss_update_and_logprobs(tiny_model_dir, demo_samples):
    batch = demo_samples[:8]
    assert len({len(s.input_ids) for s in batch}) > 1 and all(s.images for s in batch)
    runs = {}
    for packing in (False, True):
        g = _group(tiny_model_dir, OPT_LINEAR, packing=packing)
        lp = g.logprobs(batch, micro_batch_size=4)
        w_init = weights(g)
        m = g.train_step(batch, micro_batch_size=4)
        runs[packing] = (lp, m, weights(g))
    (lp0, m0, w0), (lp1, m1, w1) = runs[False], runs[True]
    assert m1["tokens"] == m0["tokens"] and abs(m1["nll_sum"] - m0["nll_sum"]) < 1e-3 * m0["nll_sum"]
    assert m1["batch_tokens"] == m0["batch_tokens"]  # real tokens either way; packed rows hold no padding
    assert max(abs(a - b) for x, y in zip(lp0, lp1, strict=True) for a, b in zip(x, y, strict=True)) < 1e-5
    assert_same_update(w_init, w0, w1)


def test_token_budget_groups_stay_within_budget():
    class S:
        def __init__(self, n):
            self.input_ids = [0] * n

    items = [S(n) for n in (5, 40, 12, 33, 7, 90, 21)]
    packed = token_micro_batches(items, 60, packed=True)
    padded = token_micro_batches(items, 60, packed=False)
    for groups in (packed, padded):
        assert sorted(len(s.input_ids) for g in groups for s in g) == sorted(len(s.input_ids) for s in items)
    assert all(sum(len(s.input_ids) for s in g) <= 60 or len(g) == 1 for g in packed)
    assert all(len(g) * max(len(s.input_ids) for s in g) <= 60 or len(g) == 1 for g in padded)
    assert len(packed) < len(items) and [len(s.input_ids) for s in packed[-1]] == [90]


def test_token_budget_micro_batches_give_the_same_update(tiny_model_dir, demo_samples):
    batch = demo_samples[:8]
    by_count = _group(tiny_model_dir, OPT_LINEAR)
    w_init = weights(by_count)
    by_count.train_step(batch, micro_batch_size=8)
    by_tokens = _group(tiny_model_dir, OPT_LINEAR, micro_batch_tokens=400)
    m = by_tokens.train_step(batch, micro_batch_size=8)
    assert m["tokens"] == sum(s.num_trainable for s in batch)
    assert_same_update(w_init, weights(by_count), weights(by_tokens))


@pytest.mark.parametrize("dtype,tol", [(torch.float32, 1e-5), (torch.bfloat16, 2e-2)])
def test_vision_attention_by_window_length_equals_transformers(tiny_model_dir, dtype, tol):
    from agentrl.models.attention import install_vision_attention
    from agentrl.models.loading import load_model

    model = load_model(str(tiny_model_dir), dtype="float32").to(dtype)
    fast = copy.deepcopy(model)
    assert install_vision_attention(fast) == len(model.model.visual.blocks)
    grid = torch.tensor([[1, 24, 40], [1, 10, 14]])  # a 1120x672 screen (60 windows) and an odd-sized one
    pixels = torch.randn(
        int(grid.prod(-1).sum()), 3 * 2 * 14 * 14, generator=torch.Generator().manual_seed(0)
    )
    outs = []
    for m in (model, fast):
        out = m.model.visual(pixels.to(dtype), grid_thw=grid).pooler_output
        out.float().pow(2).mean().backward()
        outs.append((out.float(), m.model.visual.blocks[0].attn.qkv.weight.grad.float()))
    (ref, ref_grad), (got, got_grad) = outs
    scale = float(ref.abs().max().detach())
    assert float((ref - got).abs().max()) <= tol * scale
    assert float((ref_grad - got_grad).abs().max()) <= tol * float(ref_grad.abs().max())


def test_frozen_vision_trains_the_language_model_and_computes_each_screenshot_once(
    tiny_model_dir, demo_samples
):
    batch = demo_samples[:6]
    plain = _group(tiny_model_dir)
    frozen = _group(tiny_model_dir, freeze_vision=True)
    worker = frozen.workers[0]
    lp_plain, lp_frozen = plain.logprobs(batch), frozen.logprobs(batch)  # same weights: same forward
    assert max(abs(a - b) for x, y in zip(lp_plain, lp_frozen) for a, b in zip(x, y)) < 1e-5
    before = weights(frozen)
    for _ in range(2):
        frozen.train_step(batch, micro_batch_size=3)
    after = weights(frozen)
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any(".visual." in k or k.startswith("visual.") for k in changed)
    assert any("language_model" in k for k in changed)
    unique = len({key for s in batch for key in _keys(s)})
    assert worker.vision.misses == unique  # 1 logprobs pass + 2 steps: each screenshot computed once


def _keys(sample):
    from agentrl.models.vision_cache import image_key

    return [image_key(im) for im in sample.images]


def test_bf16_parameters_with_fp32_master_weights(tiny_model_dir, demo_samples, tmp_path):
    batch = demo_samples[:8]
    g = _group(tiny_model_dir, precision="bf16")
    worker = g.workers[0]
    assert worker.master is not None and not worker._autocast
    assert {p.dtype for p in worker.model.parameters()} == {torch.bfloat16}
    assert {m.dtype for m in worker.master.master} == {torch.float32}
    losses = []
    for _ in range(4):
        m = g.train_step(batch, micro_batch_size=4)
        losses.append(m["nll_sum"] / m["tokens"])
    assert losses[-1] < losses[0] and m["skipped"] == 0
    sd = g.state_dict()  # the fp32 master values, not their bf16 rounding
    embed = next(k for k in sd if k.endswith("embed_tokens.weight"))
    master = worker.master.by_storage()[worker.model.model.language_model.embed_tokens.weight.data_ptr()]
    assert torch.equal(sd[embed], master.detach().cpu()) and not torch.equal(
        sd[embed], sd[embed].bfloat16().float()
    )
    g.save(str(tmp_path / "ckpt"), {})
    again = _group(tiny_model_dir, precision="bf16")
    again.load(str(tmp_path / "ckpt"))
    assert max_diff(sd, again.state_dict()) == 0.0


def test_frozen_vision_under_fsdp2_keeps_the_tower_whole_and_trains_the_rest(tiny_model_dir, demo_samples):
    """FSDP2 (one rank, gloo, in this process): the frozen tower is left out of sharding, so ranks compute
    their own cache misses without collectives; the forward equals the unsharded model's."""
    import os
    import socket

    import torch.distributed as dist

    batch = demo_samples[:4]
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        os.environ.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(s.getsockname()[1]))
    dist.init_process_group("gloo", rank=0, world_size=1)
    try:
        plain = _group(tiny_model_dir).logprobs(batch)
        g = _group(tiny_model_dir, strategy="fsdp2", freeze_vision=True)
        assert g.info[0]["strategy"] == "fsdp2"
        lp = g.logprobs(batch)
        assert max(abs(a - b) for x, y in zip(plain, lp) for a, b in zip(x, y)) < 1e-5
        before = weights(g)
        for _ in range(2):
            g.train_step(batch, micro_batch_size=2)
        after = weights(g)
    finally:
        dist.destroy_process_group()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed and not any("visual" in k for k in changed) and any("language_model" in k for k in changed)
