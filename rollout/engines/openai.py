"""OpenAIEngine: any OpenAI-compatible chat endpoint (e.g. `agentrl serve`), for evaluating served models.

It sends the prompt as chat messages with screenshots as PNG data URLs. Token ids come back only where
the server can return them (vLLM's `return_tokens_as_token_ids`, with each token's logprob); otherwise
results carry text and logprobs only, which is enough for evaluation but not for PPO. Where `model` is a
local directory with the tokenizer, requests block the special tokens VLLMEngine blocks (a -100 logit
bias) and stop at the turn end, so a vLLM server started by `agentrl serve` samples what VLLMEngine
samples. It takes weights from a server started with `agentrl serve --weight-updates` (vLLM's development
routes, on the same machine or a shared filesystem); otherwise PPO needs engine kind hf or vllm.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import tempfile
import time
import urllib.error
import urllib.request
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
from rollout.trajectory import png_bytes


def _data_url(image: Any) -> str:
    import numpy as np

    return "data:image/png;base64," + base64.b64encode(png_bytes(np.asarray(to_pil(image)))).decode()


def _token_limits(model: str) -> dict[str, Any]:
    """`logit_bias` against the special tokens a policy must never sample and the turn end as a stop token,
    from the tokenizer in the directory `model`; none for a model name the server alone knows."""
    if not (Path(model) / "tokenizer_config.json").is_file():
        return {}
    from agentrl.models.loading import load_processor

    tokenizer = load_processor(model).tokenizer
    return {
        "logit_bias": {str(i): -100.0 for i in blocked_token_ids(tokenizer)},
        "stop_token_ids": [tokenizer.convert_tokens_to_ids("<|im_end|>")],
    }


class OpenAIEngine(Engine):
    def __init__(self, cfg: Any) -> None:
        if not cfg.endpoint:
            raise ValueError("engine.endpoint: required for kind=openai, e.g. http://127.0.0.1:8000/v1")
        self.url = cfg.endpoint.rstrip("/") + "/chat/completions"
        self.server = cfg.endpoint.rstrip("/").removesuffix("/v1")  # vLLM's other routes hang off the root
        self.model = cfg.served_model or cfg.model
        self.api_key = os.environ.get(cfg.api_key_env, "EMPTY")
        self.timeout_s = cfg.timeout_s
        self.version = 0
        self.limits = _token_limits(cfg.model)

    def _body(self, request: GenerationRequest) -> dict[str, Any]:
        if request.messages is None:
            raise EngineError("OpenAIEngine needs chat messages in the request (the agent provides them)")
        images = iter(request.images)
        messages = []
        for m in request.messages:
            content = m["content"]
            if isinstance(content, list):
                content = [
                    {"type": "image_url", "image_url": {"url": _data_url(next(images))}}
                    if p["type"] == "image"
                    else p
                    for p in content
                ]
            messages.append({"role": m["role"], "content": content})
        s = request.sampling
        body: dict[str, Any] = {
            "model": self.model,
            "messages": messages,
            "max_tokens": s.max_tokens,
            "temperature": s.temperature,
            "top_p": s.top_p,
            "logprobs": True,
            "return_tokens_as_token_ids": True,
            **self.limits,
        }
        if s.seed is not None:
            body["seed"] = s.seed
        return body

    def _send(self, url: str, body: dict[str, Any]) -> bytes:
        req = urllib.request.Request(
            url,
            data=json.dumps(body).encode(),
            method="POST",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=self.timeout_s) as resp:
                return resp.read()
        except urllib.error.HTTPError as e:
            raise EndpointHTTPError(f"endpoint {url} answered {e.code}: {e.read()[:300]!r}", e.code) from None
        except (urllib.error.URLError, TimeoutError, ConnectionError) as e:
            raise EngineError(f"endpoint {url} unreachable: {e}") from None

    def _post(self, body: dict[str, Any]) -> dict[str, Any]:
        data = self._send(self.url, body)
        try:
            return json.loads(data)
        except json.JSONDecodeError as e:
            raise EngineError(f"endpoint {self.url} returned malformed JSON: {e}") from None

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        t0 = time.perf_counter()
        data = await asyncio.to_thread(self._post, self._body(request))
        try:
            choice = data["choices"][0]
            text = choice["message"]["content"] or ""
            content = (choice.get("logprobs") or {}).get("content") or []
        except (KeyError, IndexError, TypeError) as e:
            raise EngineError(
                f"endpoint {self.url} returned an unexpected response: {str(data)[:300]}"
            ) from e
        ids = [
            int(c["token"].split(":", 1)[1])
            for c in content
            if str(c.get("token", "")).startswith("token_id:")
        ]
        logprobs = [float(c["logprob"]) for c in content]
        usage = data.get("usage") or {}
        return GenerationResult(
            token_ids=ids if len(ids) == len(logprobs) else [],
            logprobs=logprobs,
            text=text,
            finish_reason="stop" if choice.get("finish_reason") == "stop" else "length",
            policy_version=self.version,
            prompt_tokens=int(usage.get("prompt_tokens", 0)),
            latency_s=time.perf_counter() - t0,
        )

    async def update_weights(self, weights: dict[str, Any] | str | Path, version: int) -> None:
        """Push weights through the development routes of a vLLM server started by `agentrl serve
        --weight-updates`, as VLLMEngine pushes them: pause (running requests finish), load, reset the
        caches, resume. The weights travel as a path, so the server must read this machine's files."""
        await asyncio.to_thread(self._push, weights)
        self.version = version

    def _push(self, weights: dict[str, Any] | str | Path) -> None:
        with tempfile.TemporaryDirectory(prefix="agentrl-push-") as tmp:
            if isinstance(weights, (str, Path)):
                path = Path(weights).resolve()
            else:
                path = Path(tmp)
                (path / "model.safetensors").write_bytes(to_safetensors_bytes(weights))
            self._admin("/pause?mode=wait")
            try:
                self._admin("/collective_rpc", {"method": "agentrl_load_weights", "args": [str(path)]})
                for route in ("/reset_prefix_cache", "/reset_encoder_cache", "/reset_mm_cache"):
                    self._admin(route)
            finally:
                self._admin("/resume")

    def _admin(self, route: str, body: dict[str, Any] | None = None) -> None:
        try:
            self._send(self.server + route, body or {})
        except EndpointHTTPError as e:
            if e.code != 404:
                raise
            raise EngineError(
                f"the endpoint engine (kind openai) cannot take weights: {self.server} has no "
                f"{route.split('?')[0]} route; serve with `agentrl serve --weight-updates`, or give PPO engine "
                "kind hf or vllm"
            ) from None


class EndpointHTTPError(EngineError):
    """The server answered with an HTTP error status (`code`)."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code
