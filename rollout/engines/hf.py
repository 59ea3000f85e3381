"""HFEngine: transformers `generate`, batched across concurrent requests, for machines without vLLM.

Requests that arrive within `batch_wait_s` of each other are generated as one left-padded batch (up to
`max_batch_size`, grouped by sampling settings), so many episodes share one model as they would share a
vLLM engine. When requests say how many are expected at once (`GenerationRequest.concurrency`, set by the
collector to its live episodes), a batch stays open until that many arrived or `gang_wait_s` passed: the
episodes that just stepped their envs join one forward pass rather than trickling into small ones (a
transformers batch costs about the same for 2 requests as for 8; vLLM's continuous batching needs no such
wait).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import torch

from agentrl.models.loading import load_model, load_processor
from agentrl.models.multimodal import (
    expand_image_tokens,
    image_token_counts,
    merge_size,
    mm_token_type_ids,
    process_images,
)
from agentrl.models.weights import load_state_dict_from_dir
from rollout.engines.base import Engine, EngineError, GenerationRequest, GenerationResult, blocked_token_ids


class HFEngine(Engine):
    def __init__(
        self,
        model_path: str | Path,
        dtype: str = "float32",
        device: str = "cpu",
        max_batch_size: int = 16,
        batch_wait_s: float = 0.01,
        gang_wait_s: float = 0.2,
        call_overhead_tokens: int = 1024,
        num_threads: int | None = None,
    ) -> None:
        if num_threads:
            torch.set_num_threads(num_threads)
        self.model = load_model(model_path, dtype=dtype, device=device)
        self.processor = load_processor(model_path)
        self.tokenizer = self.processor.tokenizer
        self.device = device
        self.max_batch_size = max_batch_size
        self.batch_wait_s = batch_wait_s
        self.gang_wait_s = gang_wait_s
        self.call_overhead_tokens = call_overhead_tokens
        self.version = 0
        cfg = self.model.config
        self.image_token_id = cfg.image_token_id
        self.video_token_id = cfg.video_token_id
        self.eos_id = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.pad_id = self.tokenizer.pad_token_id if self.tokenizer.pad_token_id is not None else self.eos_id
        self.blocked = blocked_token_ids(self.tokenizer)
        self._queue: asyncio.Queue[tuple[GenerationRequest, asyncio.Future]] | None = None
        self._worker: asyncio.Task | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = asyncio.Lock()

    # -- public API ------------------------------------------------------------------------------------
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # first call, or the engine is reused under a new event loop
            self._loop, self._queue, self._lock = loop, asyncio.Queue(), asyncio.Lock()
            self._worker = loop.create_task(self._serve())
        fut: asyncio.Future = loop.create_future()
        await self._queue.put((request, fut))
        return await fut

    async def update_weights(self, weights: dict[str, Any] | str | Path, version: int) -> None:
        if self._loop is not asyncio.get_running_loop():
            self._lock = asyncio.Lock()
        async with self._lock:  # never swap weights under a running batch
            sd = load_state_dict_from_dir(weights) if isinstance(weights, (str, Path)) else weights
            await asyncio.to_thread(self._load, sd)
            self.version = version

    async def shutdown(self) -> None:
        if self._worker is not None:
            self._worker.cancel()

    # -- internals -------------------------------------------------------------------------------------
    def _load(self, sd: dict[str, torch.Tensor]) -> None:
        own = self.model.state_dict()
        missing = [k for k in own if k not in sd and k != "lm_head.weight"]
        if missing:
            raise EngineError(f"update_weights: {len(missing)} parameters missing, e.g. {missing[0]}")
        with torch.no_grad():
            for k, v in sd.items():
                if k in own:
                    own[k].copy_(v.to(own[k].dtype))

    async def _serve(self) -> None:
        assert self._queue is not None
        while True:
            batch = [await self._queue.get()]
            expected = min(self.max_batch_size, batch[0][0].concurrency)  # 0: unknown
            deadline = time.monotonic() + (self.gang_wait_s if expected > 1 else self.batch_wait_s)
            while len(batch) < self.max_batch_size:
                if expected and len(batch) >= expected and self._queue.empty():
                    break  # everyone expected is here
                timeout = deadline - time.monotonic()
                if timeout <= 0:
                    break
                try:
                    batch.append(await asyncio.wait_for(self._queue.get(), timeout))
                except TimeoutError:
                    break
                expected = min(self.max_batch_size, batch[-1][0].concurrency) if expected else 0
            groups: dict[tuple, list] = {}
            for req, fut in batch:
                s = req.sampling
                groups.setdefault((s.temperature, s.top_p), []).append((req, fut))
            for group in groups.values():
                async with self._lock:
                    try:
                        results = await asyncio.to_thread(self._generate_batch, [r for r, _ in group])
                    except Exception as e:  # one bad batch fails its requests, not the engine
                        results = [e] * len(group)
                for (_, fut), res in zip(group, results, strict=True):
                    if fut.done():
                        continue
                    if isinstance(res, Exception):
                        fut.set_exception(EngineError(f"{type(res).__name__}: {res}"))
                    else:
                        fut.set_result(res)

    def _prepare(self, req: GenerationRequest) -> tuple[list[int], Any]:
        vis = process_images(self.processor, req.images)
        counts = image_token_counts(vis.image_grid_thw, merge_size(self.processor))
        return expand_image_tokens(req.prompt_token_ids, counts, self.image_token_id), vis

    def _generate_batch(self, reqs: list[GenerationRequest]) -> list[GenerationResult]:
        """Prompts of very different lengths (an async batch mixes first and sixth turns) are generated in
        length groups: left padding would make every row pay for the longest prompt."""
        prepared = [self._prepare(r) for r in reqs]
        results: dict[int, GenerationResult] = {}
        for part in length_groups([len(ids) for ids, _ in prepared], self.call_overhead_tokens):
            out = self._generate_prepared([reqs[i] for i in part], [prepared[i] for i in part])
            results.update(zip(part, out, strict=True))
        return [results[i] for i in range(len(reqs))]  # every index is in exactly one group

    @torch.no_grad()
    def _generate_prepared(
        self, reqs: list[GenerationRequest], prepared: list[tuple[list[int], Any]]
    ) -> list[GenerationResult]:
        t0 = time.perf_counter()
        width = max(len(ids) for ids, _ in prepared)
        input_ids = torch.full((len(reqs), width), self.pad_id, dtype=torch.long)
        attention = torch.zeros((len(reqs), width), dtype=torch.long)
        for i, (ids, _) in enumerate(prepared):  # left padding
            input_ids[i, width - len(ids) :] = torch.tensor(ids)
            attention[i, width - len(ids) :] = 1
        pixel = [v.pixel_values for _, v in prepared if v.pixel_values is not None]
        grids = [v.image_grid_thw for _, v in prepared if v.image_grid_thw is not None]
        s = reqs[0].sampling
        if s.seed is not None:
            torch.manual_seed(s.seed)
        kwargs: dict[str, Any] = {}
        if pixel:
            kwargs["pixel_values"] = torch.cat(pixel).to(self.device, self.model.dtype)
            kwargs["image_grid_thw"] = torch.cat(grids).to(self.device)
        max_new = max(r.sampling.max_tokens for r in reqs)
        out = self.model.generate(
            input_ids=input_ids.to(self.device),
            attention_mask=attention.to(self.device),
            mm_token_type_ids=mm_token_type_ids(input_ids, self.image_token_id, self.video_token_id).to(
                self.device
            ),
            max_new_tokens=max_new,
            do_sample=s.temperature > 0,
            temperature=s.temperature if s.temperature > 0 else None,
            top_p=s.top_p if s.temperature > 0 else None,
            top_k=None,
            suppress_tokens=self.blocked,
            eos_token_id=self.eos_id,
            pad_token_id=self.pad_id,
            return_dict_in_generate=True,
            output_logits=True,
            **kwargs,
        )
        # (steps, B, V) -> (B, steps, V): logprobs of the distribution sampled from, log softmax(z / T) of the
        # model's own logits z (before token blocking, as the learner computes them); greedy: T = 1
        z = torch.stack(out.logits, dim=1).float()
        logp = (z / s.temperature if s.temperature > 0 else z).log_softmax(-1)
        new = out.sequences[:, width:]
        latency = time.perf_counter() - t0
        results = []
        for i, req in enumerate(reqs):
            toks = new[i].tolist()[: req.sampling.max_tokens]
            finish = "length"
            if self.eos_id in toks:
                toks = toks[: toks.index(self.eos_id) + 1]
                finish = "stop"
            lps = logp[i, torch.arange(len(toks)), torch.tensor(toks, dtype=torch.long)].tolist()
            results.append(
                GenerationResult(
                    token_ids=toks,
                    logprobs=lps,
                    text=self.tokenizer.decode(toks, skip_special_tokens=True),
                    finish_reason=finish,
                    policy_version=self.version,
                    prompt_tokens=len(prepared[i][0]),
                    latency_s=latency,
                )
            )
        return results


def length_groups(lengths: list[int], overhead_tokens: int) -> list[list[int]]:
    """Split a batch into groups of similar prompt length, minimising the padded work
        sum_g (overhead + |g| * max_{i in g} len_i),
    where `overhead` is what one more generate call costs, in prompt tokens. Optimal groups are contiguous in
    length order, so a dynamic program over the sorted lengths finds them (O(n^2), n <= max_batch_size)."""
    order = sorted(range(len(lengths)), key=lambda i: lengths[i])
    n = len(order)
    best = [0.0] + [float("inf")] * n  # best[j]: cost of the first j (sorted) requests
    cut = [0] * (n + 1)
    for j in range(1, n + 1):
        for i in range(j):  # group = sorted[i:j], padded to its longest, sorted[j-1]
            c = best[i] + overhead_tokens + (j - i) * lengths[order[j - 1]]
            if c < best[j]:
                best[j], cut[j] = c, i
    groups, j = [], n
    while j > 0:
        groups.append(order[cut[j] : j])
        j = cut[j]
    return groups[::-1]
