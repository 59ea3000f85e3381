"""What is evaluated: a model directory, a served endpoint, or a scripted baseline; each checked before any
episode runs (a directory that is not a VLM, an endpoint that does not answer: refused up front)."""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

from envs.actions import Action, format_response
from rollout.engines.base import GenerationRequest, GenerationResult
from rollout.engines.scripted import ExpertEngine, RandomClickEngine

SCRIPTED = ("expert", "random")


class PolicyError(ValueError):
    """A policy that cannot be evaluated; the message is one line naming the flag."""


def check_vlm_dir(path: str | Path, flag: str = "--model") -> None:
    """A Hugging Face directory of an image-text-to-text model with its processor, or PolicyError."""
    p = Path(path)
    if not (p / "config.json").is_file():
        hint = " (agentrl model init tiny DIR makes one)" if not p.exists() else ""
        raise PolicyError(f"{flag}: '{p}' is not a model directory: no config.json{hint}")
    try:
        config = json.loads((p / "config.json").read_text())
    except json.JSONDecodeError as e:
        raise PolicyError(f"{flag}: '{p}/config.json' is not JSON ({e})") from None
    if not isinstance(config, dict) or "vision_config" not in config:
        arch = (config.get("architectures") or ["?"])[0] if isinstance(config, dict) else "?"
        raise PolicyError(
            f"{flag}: '{p}' is not a vision-language model (architecture {arch}, no vision_config); "
            "evaluation needs an image-text-to-text model such as Qwen2.5-VL or UI-TARS"
        )
    from agentrl.models.loading import load_processor

    try:
        processor = load_processor(p)
    except Exception as e:
        raise PolicyError(f"{flag}: '{p}': its processor does not load ({type(e).__name__}: {e})") from None
    if getattr(processor, "image_processor", None) is None or getattr(processor, "tokenizer", None) is None:
        raise PolicyError(f"{flag}: '{p}': its processor has no image processor or tokenizer")


def served_models(endpoint: str, timeout_s: float = 5.0) -> list[str]:
    """The model names an OpenAI-compatible server lists at GET {endpoint}/models, or PolicyError."""
    url = endpoint.rstrip("/") + "/models"
    if not url.startswith(("http://", "https://")):
        raise PolicyError(f"--endpoint: '{endpoint}' is not an http(s) URL, e.g. http://127.0.0.1:8000/v1")
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as resp:
            data = json.loads(resp.read())
    except urllib.error.HTTPError as e:
        raise PolicyError(f"--endpoint: {url} answered HTTP {e.code}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError, OSError) as e:
        reason = getattr(e, "reason", e)
        raise PolicyError(f"--endpoint: {url} is unreachable ({reason})") from None
    except json.JSONDecodeError:
        raise PolicyError(
            f"--endpoint: {url} did not answer JSON (is it an OpenAI-compatible server?)"
        ) from None
    try:
        return [str(m["id"]) for m in data["data"]]
    except (KeyError, TypeError):
        raise PolicyError(
            f"--endpoint: {url} answered without a model list ('data': [{{'id': ...}}])"
        ) from None


def check_endpoint(endpoint: str, served_model: str | None) -> str:
    """The served model name to ask for (the one given, or the server's only/first model)."""
    names = served_models(endpoint)
    if not names:
        raise PolicyError(f"--endpoint: {endpoint} serves no model")
    if served_model is None:
        return names[0]
    if served_model not in names:
        raise PolicyError(
            f"--served-model: '{served_model}' is not served at {endpoint}; served: {', '.join(names)}"
        )
    return served_model


class SeededRandomClick(RandomClickEngine):
    """Random clicks drawn from (env id, seed, step) of each request, so a baseline episode is the same
    whatever order concurrent episodes ask in (RandomClickEngine shares one generator)."""

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        assert self.mapper is not None, "SeededRandomClick must be bound (run_episode does this)"
        episode, _, step = request.request_id.rsplit(":", 2)  # "<env id>:<seed>", trajectory id, step
        rng = random.Random(f"{episode}:{step}")
        x, y = rng.randrange(self.mapper.screen_w), rng.randrange(self.mapper.screen_h)
        return self._result(format_response(Action("click", (x, y)), "I click a random point."))


def scripted_engine(name: str, tokenizer: Any) -> Any:
    """`expert` (the env's scripted expert: the ceiling) or `random` (uniform random clicks: the floor)."""
    if name == "expert":
        return ExpertEngine(tokenizer)
    if name == "random":
        return SeededRandomClick(tokenizer)
    raise PolicyError(f"--policy: unknown '{name}'; allowed: {', '.join(SCRIPTED)}")


class EngineErrorsUnwrapped:
    """EngineLike around a Ray engine client: an EngineError raised in the engine actor reaches the episode
    as itself. Ray wraps it in a RayTaskError whose text starts with a traceback, and run_episode keeps only
    the first 500 characters of the reason, which then miss the message ("malformed JSON", "unreachable")."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        import ray

        from rollout.engines.base import EngineError

        try:
            return await self.engine.generate(request)
        except ray.exceptions.RayTaskError as e:
            if isinstance(e.cause, EngineError):
                raise EngineError(str(e.cause)) from None
            raise
