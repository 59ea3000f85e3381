"""The validator V(trajectory) in {0, 1} that routes every episode: V=1 grows the SFT pool, V=0 the CT pool.

Validators share one signature, `async (Trajectory) -> Verdict`, and live in a registry
(`make_validator(name, **kwargs)`):

- `env`: the env's own verdict: V=1 when the episode ended in success with status "ok".
- `judge`: a VLM judge (UI-TARS-2's outcome reward model setup): any rollout engine is shown the
  instruction, the action history and the last 5 screenshots and answers YES or NO. An answer that is
  neither counts as V=0 (unverified data stays out of the SFT set). With `require_env_success` the env must
  agree too. The screenshots are those the policy acted on (a trajectory keeps no screen after its last
  action).
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any

from envs.actions import Action, format_action
from rollout.engines.base import GenerationRequest, SamplingConfig
from rollout.prompt import IMAGE_BLOCK
from rollout.trajectory import Trajectory


@dataclass(frozen=True)
class Verdict:
    v: int  # 1: the trajectory did the task (SFT pool); 0: it did not (CT pool)
    validator: str
    reason: str = ""


Validator = Callable[[Trajectory], Awaitable[Verdict]]
VALIDATORS: dict[str, Callable[..., Validator]] = {}


def register_validator(name: str, factory: Callable[..., Validator]) -> None:
    if name in VALIDATORS:
        raise ValueError(f"validator '{name}' is already registered")
    VALIDATORS[name] = factory


def make_validator(name: str, **kwargs: Any) -> Validator:
    if name not in VALIDATORS:
        raise ValueError(f"validator: unknown '{name}'; known: {', '.join(sorted(VALIDATORS))}")
    return VALIDATORS[name](**kwargs)


async def validate_all(
    validator: Validator, trajectories: Iterable[Trajectory], concurrency: int = 8
) -> list[Verdict]:
    """Verdicts in input order, at most `concurrency` judged at once (an engine batches concurrent requests)."""
    gate = asyncio.Semaphore(concurrency)

    async def one(t: Trajectory) -> Verdict:
        async with gate:
            return await validator(t)

    return list(await asyncio.gather(*(one(t) for t in trajectories)))


# -- env reward ------------------------------------------------------------------------------------------
def env_verdict(t: Trajectory) -> Verdict:
    if t.status != "ok":
        return Verdict(0, "env", f"status {t.status}: {t.reason}"[:200])
    return Verdict(int(t.success), "env", f"reward {t.reward:g}")


def _env_validator() -> Validator:
    async def validate(t: Trajectory) -> Verdict:
        return env_verdict(t)

    return validate


register_validator("env", _env_validator)


# -- VLM judge -------------------------------------------------------------------------------------------
JUDGE_SYSTEM = (
    "You judge whether a GUI agent completed its task, from its actions and the screenshots it saw. "
    "Answer YES or NO."
)
JUDGE_SCREENSHOTS = 5
_ANSWER = re.compile(r"\b(yes|no)\b", re.IGNORECASE)


def _action_text(action: dict[str, Any] | None, error: str) -> str:
    if action is None:
        return f"(invalid: {error[:80]})"
    try:
        return format_action(Action.from_dict(action))
    except (TypeError, ValueError):  # imported data with an action this agentrl does not know
        return json.dumps(action, sort_keys=True)


def action_history(t: Trajectory) -> list[str]:
    """Each turn's action as UI-TARS text (`click(start_box='(3,4)')`), or `(invalid: ...)`."""
    return [_action_text(u.action, u.action_error) for u in t.turns]


def screenshots(t: Trajectory, last: int = JUDGE_SCREENSHOTS) -> list[str]:
    """Refs of the screens the policy acted on, oldest first, the last `last` of them."""
    refs = [u.image_refs[-1] for u in t.turns if u.image_refs]
    return refs[-last:] if last > 0 else []


def judge_prompt(t: Trajectory, num_screenshots: int = JUDGE_SCREENSHOTS) -> tuple[str, list[str]]:
    """The judge's prompt text (Qwen2.5-VL chat format, one image pad per screenshot) and its image refs."""
    refs = screenshots(t, num_screenshots)
    history = "\n".join(f"{i}. {a}" for i, a in enumerate(action_history(t), 1)) or "(no actions)"
    user = (
        f"Task: {t.instruction}\nActions:\n{history}\n"
        f"The last {len(refs)} screenshots, oldest first:\n{IMAGE_BLOCK * len(refs)}\n"
        "Did the agent complete the task?"
    )
    text = f"<|im_start|>system\n{JUDGE_SYSTEM}<|im_end|>\n<|im_start|>user\n{user}<|im_end|>\n<|im_start|>assistant\n"
    return text, refs


@dataclass
class VLMJudge:
    """V from an engine's YES/NO. `engine`: any rollout engine; `tokenizer`: the judge model's."""

    engine: Any
    tokenizer: Any
    num_screenshots: int = JUDGE_SCREENSHOTS
    require_env_success: bool = False
    max_tokens: int = 8

    async def __call__(self, t: Trajectory) -> Verdict:
        if self.require_env_success and not env_verdict(t).v:
            return Verdict(0, "judge", "env: no success")
        text, refs = judge_prompt(t, self.num_screenshots)
        request = GenerationRequest(
            list(self.tokenizer.encode(text, add_special_tokens=False)),
            t.images_for(refs),
            SamplingConfig(max_tokens=self.max_tokens, temperature=0.0),
            request_id=f"judge:{t.id[:8]}",
        )
        result = await self.engine.generate(request)
        m = _ANSWER.search(result.text)
        if result.finish_reason == "error" or m is None:
            return Verdict(0, "judge", f"no YES/NO in the judge's answer {result.text[:60]!r}")
        return Verdict(int(m.group(1).lower() == "yes"), "judge", f"judge answered {m.group(1).upper()}")


register_validator("judge", VLMJudge)
