"""Which engine serves the policy, and how; `make_engine` is the one place engines are built."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from agentrl.config import StrictModel
from rollout.engines.base import SamplingConfig


def has_cuda() -> bool:
    import torch

    return torch.cuda.is_available()


class EngineConfig(StrictModel):
    """`kind: auto` picks vLLM on a GPU and HFEngine on a CPU, where a vLLM engine is slow to start and
    reserves `gpu_memory_utilization` of host RAM, and a run starts several engines. Set `kind: vllm` for
    long CPU rollouts. The measurements: benchmarks/results/NOTES.md, "Engines on a CPU"."""

    kind: Literal["auto", "hf", "vllm", "openai"] = "auto"
    model: str = "runs/models/tiny"
    dtype: Literal["auto", "float32", "bfloat16", "float16"] = "auto"  # auto: bf16 on GPU, fp32 on CPU
    max_batch_size: int = 16  # hf: requests generated as one batch
    batch_wait_s: float = 0.01  # hf: how long a batch waits for more requests
    gang_wait_s: float = 0.2  # hf: how long a batch waits for the requests the collector expects at once
    call_overhead_tokens: int = 1024  # hf: a generate call's fixed cost in prompt tokens (length grouping)
    max_model_len: int = 4096  # vllm
    gpu_memory_utilization: float = 0.15  # vllm: on the CPU, the fraction of host RAM for the KV cache
    tensor_parallel_size: int = 1  # vllm
    max_num_batched_tokens: int | None = (
        None  # vllm: tokens per engine step (None: 32768 on CPU, vLLM's on GPU)
    )
    # vllm on a CPU: model threads, run inside the engine-core process (0: vLLM's default, a worker process
    # with a thread per core that busy-waits between steps; 1 suits the tiny model and leaves cores to envs)
    cpu_threads: int = Field(1, ge=0)
    max_images_per_prompt: int = 4
    endpoint: str | None = (
        None  # openai: base URL of an OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1
    )
    api_key_env: str = "OPENAI_API_KEY"  # openai: environment variable holding the key (may be unset)
    served_model: str | None = None  # openai: model name on the server (default: `model`)
    timeout_s: float = 120.0  # per request
    sampling: SamplingConfig = SamplingConfig()

    def resolved_kind(self) -> str:
        if self.kind != "auto":
            return self.kind
        return "vllm" if has_cuda() else "hf"

    def resolved_dtype(self) -> str:
        if self.dtype != "auto":
            return self.dtype
        return "bfloat16" if has_cuda() else "float32"

    def vllm_options(self) -> dict[str, Any]:
        """The keys a vLLM engine takes (rollout.engines.vllm.engine_launch), for VLLMEngine and
        `agentrl serve` alike."""
        return {
            "max_model_len": self.max_model_len,
            "gpu_memory_utilization": self.gpu_memory_utilization,
            "max_images_per_prompt": self.max_images_per_prompt,
            "dtype": self.resolved_dtype(),
            "tensor_parallel_size": self.tensor_parallel_size,
            "max_num_batched_tokens": self.max_num_batched_tokens,
            "cpu_threads": self.cpu_threads,
        }
