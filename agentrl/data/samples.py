"""Model-ready samples for the learner, built from trajectories (and env screens, for grounding).

A `TrainSample` is token ids with one `<|image_pad|>` per image (unexpanded; the learner expands them with
the processor exactly as the engines do), a loss mask aligned with the ids, and the images.

- SFT (UI-TARS training format): one sample per turn, the prompt the policy saw (older turns as action text
  only, the last K screenshots) plus its response; loss on the response (assistant) tokens only.
- CT: next-token loss on whole trajectories, failures included: the last turn's prompt and response, every
  text token trained (image pads excluded).
- Grounding: "where is X" -> coordinates and "what is at (x,y)" -> the element, from env screens and
  their element boxes.

Builders are generators, so datasets larger than memory stream from the store.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from envs.core.elements import Element
from rollout.trajectory import Trajectory


@dataclass
class TrainSample:
    input_ids: list[int]
    loss_mask: list[int]  # 1 = predict this token (its loss counts); aligned with input_ids
    images: list[np.ndarray] = field(default_factory=list)  # one per image pad, in order
    kind: str = "sft"  # sft | ct | grounding
    source: str = ""  # trajectory id or generator
    task: str = ""  # the env id of the episode it comes from ("" when none)

    @property
    def num_trainable(self) -> int:
        return sum(self.loss_mask)


def sft_samples(trajectories: Iterable[Trajectory]) -> Iterator[TrainSample]:
    """One sample per turn: prompt (mask 0) + response (mask 1)."""
    for t in trajectories:
        for turn in t.turns:
            if not turn.response_ids:
                continue
            yield TrainSample(
                input_ids=list(turn.prompt_ids) + list(turn.response_ids),
                loss_mask=[0] * len(turn.prompt_ids) + [1] * len(turn.response_ids),
                images=t.turn_images(turn),
                kind="sft",
                source=t.id,
                task=t.env_id,
            )


def ct_samples(trajectories: Iterable[Trajectory], image_token_id: int) -> Iterator[TrainSample]:
    """The whole episode as the last turn saw it; loss on every token but image pads."""
    for t in trajectories:
        if not t.turns:
            continue
        last = t.turns[-1]
        ids = list(last.prompt_ids) + list(last.response_ids)
        yield TrainSample(
            ids, [0 if i == image_token_id else 1 for i in ids], t.turn_images(last), "ct", t.id
        )


GROUNDING_QUESTIONS = ('Where is the {role} "{text}"?', "What is at ({x},{y})?")


def grounding_samples(
    screens: Iterable[tuple[np.ndarray, list[Element]]], tokenizer: Any, seed: int = 0, per_screen: int = 2
) -> Iterator[TrainSample]:
    """Chat samples from (screenshot, elements): ask for an element's centre, or for what is at a centre."""
    rng = random.Random(seed)
    for image, elements in screens:
        named = [e for e in elements if e.text.strip()]
        for e in rng.sample(named, min(per_screen, len(named))):
            cx, cy = e.center
            if rng.random() < 0.5:
                question, answer = GROUNDING_QUESTIONS[0].format(role=e.role, text=e.text), f"({cx},{cy})"
            else:
                question, answer = GROUNDING_QUESTIONS[1].format(x=cx, y=cy), f'{e.role} "{e.text}"'
            prompt = (
                f"<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>{question}<|im_end|>\n"
                "<|im_start|>assistant\n"
            )
            p_ids = list(tokenizer.encode(prompt, add_special_tokens=False))
            a_ids = list(tokenizer.encode(answer, add_special_tokens=False)) + [
                tokenizer.convert_tokens_to_ids("<|im_end|>")
            ]
            yield TrainSample(p_ids + a_ids, [0] * len(p_ids) + [1] * len(a_ids), [image], "grounding", "env")


def env_screens(
    env_id: str, seeds: Iterable[int], **env_kwargs: Any
) -> Iterator[tuple[np.ndarray, list[Element]]]:
    """(screenshot, elements) of each seed's first screen, for `grounding_samples`. Element boxes are in
    screenshot pixels, as the env reports them."""
    import envs

    env = envs.make(env_id, **env_kwargs)
    try:
        for seed in seeds:
            obs, info = env.reset(seed=seed)
            yield obs["screenshot"], [Element.from_dict(e) for e in info.get("elements", [])]
    finally:
        env.close()


def shuffled(samples: Iterable[TrainSample], buffer: int = 1024, seed: int = 0) -> Iterator[TrainSample]:
    """Streaming shuffle with a bounded buffer (datasets larger than memory)."""
    rng = random.Random(seed)
    buf: list[TrainSample] = []
    for s in samples:
        buf.append(s)
        if len(buf) >= buffer:
            yield buf.pop(rng.randrange(len(buf)))
    rng.shuffle(buf)
    yield from buf
