"""The engine a config names: HF transformers, vLLM or an OpenAI-compatible server."""

from __future__ import annotations

from rollout.engines.base import Engine
from rollout.engines.config import EngineConfig, has_cuda


def make_engine(cfg: EngineConfig) -> Engine:
    kind = cfg.resolved_kind()
    if kind == "hf":
        from rollout.engines.hf import HFEngine

        return HFEngine(
            cfg.model,
            dtype=cfg.resolved_dtype(),
            device="cuda" if has_cuda() else "cpu",
            max_batch_size=cfg.max_batch_size,
            batch_wait_s=cfg.batch_wait_s,
            gang_wait_s=cfg.gang_wait_s,
            call_overhead_tokens=cfg.call_overhead_tokens,
        )
    if kind == "vllm":
        from rollout.engines.vllm import VLLMEngine

        return VLLMEngine(cfg.model, **cfg.vllm_options())
    if kind == "openai":
        from rollout.engines.openai import OpenAIEngine

        return OpenAIEngine(cfg)
    raise ValueError(f"engine.kind: unknown '{kind}'")
