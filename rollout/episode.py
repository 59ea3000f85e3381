"""One episode: the ReAct loop between an engine and an env, producing a Trajectory.

Both sides are awaited, so many episodes interleave on one event loop: while one waits for the engine,
another's env steps. Failures stay inside the episode: an engine error or timeout ends it with
status "error" and the reason; the caller decides about env-worker deaths (see collector).

The step budget is the agent's to spend: running out of the env's or the agent's `max_steps`, or of the
episode's `time_limit_s` (checked before each turn and bounding each generation), ends the episode truncated
with a reason from STEP_BUDGET_REASONS (`Trajectory.timed_out`: a failure, terminal for PPO).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any, Protocol

from envs.actions import Action
from rollout.agent import AgentConfig, ReActAgent
from rollout.engines.base import EngineError, GenerationRequest, GenerationResult
from rollout.trajectory import Trajectory, Turn


class EngineLike(Protocol):
    async def generate(self, request: GenerationRequest) -> GenerationResult: ...


class EnvLike(Protocol):
    """An env reached asynchronously (a local env in a thread, or a slot of a Ray env worker)."""

    async def reset(self, env_id: str, seed: int) -> tuple[dict[str, Any], dict[str, Any]]: ...

    async def step(
        self, action: Action | str
    ) -> tuple[dict[str, Any], float, bool, bool, dict[str, Any]]: ...

    async def expert_action(self) -> str: ...


async def run_episode(
    engine: EngineLike,
    env: EnvLike,
    tokenizer: Any,
    cfg: AgentConfig,
    env_id: str,
    seed: int,
    *,
    request_timeout_s: float = 120.0,
    allow_shell: bool = False,
    meta: dict[str, Any] | None = None,
    concurrency: Callable[[], int] | None = None,
    time_limit_s: float | None = None,
) -> Trajectory:
    """One episode. `concurrency()`: how many episodes share the engine now (a batching hint, see
    GenerationRequest.concurrency). `time_limit_s`: the episode's time budget, counted from the reset."""
    obs, info = await env.reset(env_id, seed)
    deadline = time.monotonic() + time_limit_s if time_limit_s is not None else float("inf")
    traj = Trajectory(env_id=env_id, seed=seed, instruction=obs["instruction"], meta=dict(meta or {}))
    agent = ReActAgent(tokenizer, cfg, allow_shell=allow_shell)
    agent.start(traj, obs, info)
    if hasattr(engine, "bind"):  # scripted policies (expert, random click) act on this episode's env
        assert agent.mapper is not None
        engine = engine.bind(env, agent.mapper)
    for step in range(cfg.max_steps):
        ids, refs = agent.prompt()
        sampling = cfg.sampling
        if sampling.seed is not None:  # distinct but reproducible per episode and turn
            sampling = sampling.model_copy(update={"seed": sampling.seed + 1009 * seed + step})
        request = GenerationRequest(
            ids,
            traj.images_for(refs),
            sampling,
            request_id=f"{env_id}:{seed}:{traj.id[:8]}:{step}",
            messages=agent.messages(),
            concurrency=concurrency() if concurrency is not None else 0,
        )
        t0 = time.perf_counter()
        try:
            if _spent(deadline):
                raise TimeoutError("no time left before the turn")
            result = await asyncio.wait_for(
                engine.generate(request), min(request_timeout_s, deadline - time.monotonic())
            )
        except (EngineError, TimeoutError) as e:
            if _spent(deadline):  # the episode's time budget ran out, not the engine
                traj.truncated, traj.reason = True, f"episode time limit ({time_limit_s:g}s)"
            else:
                traj.status, traj.reason = "error", f"engine: {type(e).__name__}: {e}"[:500]
            return traj
        t1 = time.perf_counter()
        parsed = agent.act(result)
        obs, reward, terminated, truncated, info = await env.step(parsed.env_input)
        traj.turns.append(
            Turn(
                prompt_ids=ids,
                response_ids=list(result.token_ids),
                logprobs=list(result.logprobs),
                text=result.text,
                image_refs=refs,
                action=parsed.action.to_dict() if parsed.action else None,
                action_error=info.get("action_error", "") or parsed.error,
                reward=float(reward),
                policy_version=result.policy_version,
                finish_reason=result.finish_reason,
                timings={"generate_s": t1 - t0, "env_s": time.perf_counter() - t1},
            )
        )
        traj.reward += float(reward)
        if terminated or truncated:
            traj.terminated, traj.truncated = terminated, truncated
            traj.success = bool(info.get("success", reward > 0))
            traj.reason = info.get("truncation_reason", "")
            return traj
        agent.observe(traj, obs, info)
    traj.truncated, traj.reason = True, f"agent step limit ({cfg.max_steps})"
    return traj


def _spent(deadline: float) -> bool:
    return time.monotonic() >= deadline
