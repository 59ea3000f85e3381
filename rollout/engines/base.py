"""One interface for every policy engine: token ids and images in; text, token ids and logprobs out.

Token-in/token-out: the caller sends prompt token ids (one `<|image_pad|>` per image, unexpanded) and gets
back the response token ids the engine sampled with their logprobs. Text is for humans and the action
parser; training uses the ids. Logprobs are the behaviour policy's: of the distribution the engine sampled
from, log softmax(z / T) at the request's temperature T (T = 1 when greedy), so PPO's old logprobs are those
of the policy version that sampled each turn, at any temperature.
"""

from __future__ import annotations

import abc
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from agentrl.config import StrictModel

ImageLike = Image.Image | np.ndarray


class SamplingConfig(StrictModel):
    """How an engine samples. temperature 0 means greedy."""

    max_tokens: int = 64
    temperature: float = 1.0
    top_p: float = 1.0
    seed: int | None = None


@dataclass
class GenerationRequest:
    prompt_token_ids: list[int]
    images: list[ImageLike] = field(default_factory=list)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    request_id: str = ""
    # How many requests the caller expects outstanding at once (the collector's live episodes; 0: unknown).
    # A batching engine may hold a batch open until that many arrived (HFEngine), so episodes that step
    # their envs at about the same time share one forward pass instead of splitting into small ones.
    concurrency: int = 0
    # The same prompt as chat messages, for engines that take messages (OpenAI-compatible endpoints):
    # images appear as {"type": "image", "ref": ...} parts, in the order of `images`.
    messages: list[dict[str, Any]] | None = None


@dataclass
class GenerationResult:
    token_ids: list[int]  # the sampled response, ending in EOS when finish_reason == "stop"
    logprobs: list[float]  # log softmax(z / T) of each sampled token, same length as token_ids
    text: str  # decoded without special tokens
    finish_reason: str  # "stop" | "length" | "error"
    policy_version: int
    prompt_tokens: int  # after image expansion
    latency_s: float = 0.0
    error: str | None = None


class EngineError(RuntimeError):
    """A request the engine could not serve; fails that episode only."""


def to_pil(image: ImageLike) -> Image.Image:
    if isinstance(image, Image.Image):
        return image.convert("RGB")
    return Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")


def blocked_token_ids(tokenizer: Any) -> list[int]:
    """Special tokens a policy must never sample: every special token except the turn end and box marks."""
    allowed = {tokenizer.convert_tokens_to_ids(t) for t in ("<|im_end|>", "<|box_start|>", "<|box_end|>")}
    special = {tokenizer.convert_tokens_to_ids(t) for t in tokenizer.all_special_tokens}
    special |= {
        tokenizer.convert_tokens_to_ids(t)
        for t in (
            "<|image_pad|>",
            "<|video_pad|>",
            "<|vision_start|>",
            "<|vision_end|>",
            "<|vision_pad|>",
            "<|im_start|>",
        )
    }
    unk = getattr(tokenizer, "unk_token_id", None)
    return sorted(i for i in special - allowed if isinstance(i, int) and i >= 0 and i != unk)


class Engine(abc.ABC):
    """A policy engine. `generate` is async so many episodes share one engine concurrently."""

    version: int = 0

    @abc.abstractmethod
    async def generate(self, request: GenerationRequest) -> GenerationResult: ...

    @abc.abstractmethod
    async def update_weights(self, weights: dict[str, Any] | str | Path, version: int) -> None:
        """Load new policy weights (a state dict or a checkpoint directory) and set the policy version."""

    async def shutdown(self) -> None:
        return None
