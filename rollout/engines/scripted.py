"""Scripted policies behind the engine interface, so they run through the same rollout path as models.

`ExpertEngine` answers with the env's scripted expert (privileged: it asks the env it is bound to);
`RandomClickEngine` clicks a uniformly random screen point. Their responses are tokenised with the
policy's tokenizer, so expert demonstrations become SFT samples exactly like model turns. They carry
policy_version -1 (not a model) and logprob 0.
"""

from __future__ import annotations

import random
from typing import Any

from envs.actions import Action, CoordinateMapper, format_response, parse_action
from rollout.engines.base import GenerationRequest, GenerationResult

SCRIPTED_VERSION = -1


class _Scripted:
    """Base: turns a response text into a GenerationResult; `bind` ties it to one episode's env."""

    def __init__(self, tokenizer: Any, mapper: CoordinateMapper | None = None) -> None:
        self.tokenizer = tokenizer
        self.eos_id = tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.mapper = mapper
        self.env: Any = None

    def bind(self, env: Any, mapper: CoordinateMapper) -> _Scripted:
        bound = type(self).__new__(type(self))
        bound.__dict__.update(self.__dict__)
        bound.env, bound.mapper = env, mapper
        return bound

    def _result(self, text: str) -> GenerationResult:
        if self.mapper is not None:  # the env's expert speaks screen pixels; the model's frame may differ
            parsed = parse_action(text)
            text = format_response(self.mapper.action_to_model(parsed.action), parsed.thought)
        ids = list(self.tokenizer.encode(text, add_special_tokens=False)) + [self.eos_id]
        return GenerationResult(ids, [0.0] * len(ids), text, "stop", SCRIPTED_VERSION, 0)


class ExpertEngine(_Scripted):
    async def generate(self, request: GenerationRequest) -> GenerationResult:
        if self.env is None:
            raise RuntimeError("ExpertEngine must be bound to an env (run_episode does this)")
        return self._result(await self.env.expert_action())


class RandomClickEngine(_Scripted):
    def __init__(self, tokenizer: Any, seed: int = 0) -> None:
        super().__init__(tokenizer)
        self.rng = random.Random(seed)

    async def generate(self, request: GenerationRequest) -> GenerationResult:
        assert self.mapper is not None, "RandomClickEngine must be bound (run_episode does this)"
        x = self.rng.randrange(self.mapper.screen_w)
        y = self.rng.randrange(self.mapper.screen_h)
        return self._result(format_response(Action("click", (x, y))))
