"""MiniWoB++ env throughput: agentrl's Playwright env against the `miniwob` package's own Selenium env.

    python benchmarks/env_throughput.py [--seeds 30] [--tasks click-button,login-user,...]
                                        [--expert-seeds 100] [--out benchmarks/results/env_throughput.json]

Same tasks, same seeds, same actions for both. First agentrl's scripted experts play every (task, seed)
untimed and their UI-TARS actions are recorded; then each env replays exactly those actions, timed, one
env per task reused across episodes (as a rollout worker does), the two envs alternating task by task so
both see the same machine load. The peer is `gymnasium.make("miniwob/<task>-v1")` (headless Chromium via
Debian's chromedriver, the package's default "all_supported" action space plus Escape): a click is
CLICK_COORDS at the same pixel, typing TYPE_TEXT (a trailing newline as WebDriver's Enter), a hotkey
PRESS_KEY. Both envs return a screenshot per observation; agentrl also builds its element list, the peer
its DOM tree. Each env's first reset (page load, and for the peer the driver start) is left out.

Reported per env: episodes/s (episodes / time spent in reset + step), reset p50/p95 and step p50/p95 in
ms, and success (both must agree: the replay is only a fair comparison if the tasks behave the same).
`ratio` = agentrl episodes/s / peer episodes/s (higher is better). Targets (issue 3): ratio >= 3, agentrl
reset p50 < 50 ms. With --expert-seeds N, every scripted expert's success over seeds 0..N-1 is added.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from pathlib import Path
from typing import Any

import numpy as np

import envs
from envs.actions import parse_action
from envs.browser.miniwob.experts import expert_tasks

TASKS = ("click-button", "click-link", "click-dialog-2", "click-tab-2", "click-checkboxes", "click-option",
         "enter-text", "login-user", "use-autocomplete")  # fmt: skip
TARGET_RATIO, TARGET_RESET_P50_S = 3.0, 0.05


def record(task: str, seeds: range) -> dict[int, list[str]]:
    """The expert's actions per seed (untimed), from agentrl's env."""
    env = envs.make(f"agentrl/miniwob.{task}-v0", text_mode="off")
    plays = {}
    for seed in seeds:
        env.reset(seed=seed)
        actions, done = [], False
        while not done:
            actions.append(env.unwrapped.expert_action())
            _, _, term, trunc, _ = env.step(actions[-1])
            done = term or trunc
        plays[seed] = actions
    env.close()
    return plays


def replay_agentrl(task: str, plays: dict[int, list[str]]) -> dict[str, Any]:
    env = envs.make(f"agentrl/miniwob.{task}-v0")  # default settings: screenshot + element list
    env.reset(seed=10_000)  # page load: not counted
    resets, steps, wins = [], [], 0
    for seed, actions in plays.items():
        t0 = time.perf_counter()
        env.reset(seed=seed)
        resets.append(time.perf_counter() - t0)
        for action in actions:
            t0 = time.perf_counter()
            _, _, _, _, info = env.step(action)
            steps.append(time.perf_counter() - t0)
        wins += info["success"]
    env.close()
    return {"resets": resets, "steps": steps, "successes": wins}


def peer_env(task: str) -> Any:
    import gymnasium
    import miniwob  # noqa: F401  (registers miniwob/<task>-v1)
    from miniwob.action import ActionSpaceConfig
    from miniwob.constants import DEFAULT_ALLOWED_KEYS

    os.environ.setdefault("MINIWOB_CHROME_BINARY", "/usr/bin/chromium")
    os.environ.setdefault("MINIWOB_CHROMEDRIVER", "/usr/bin/chromedriver")
    config = ActionSpaceConfig.get_preset("all_supported")
    config.allowed_keys = (*DEFAULT_ALLOWED_KEYS, "<Escape>")
    return gymnasium.make(f"miniwob/{task}-v1", action_space_config=config).unwrapped


def to_peer(env: Any, text: str) -> dict[str, Any]:
    """agentrl's UI-TARS action as the miniwob package's action dict (same pixel, same keys)."""
    from miniwob.constants import WEBDRIVER_SPECIAL_KEYS

    a = parse_action(text).action
    if a.verb == "click":
        return env.create_action("CLICK_COORDS", coords=np.array(a.start, dtype=np.float32))
    if a.verb == "type":
        return env.create_action("TYPE_TEXT", text=a.content.replace("\n", WEBDRIVER_SPECIAL_KEYS["<Enter>"]))
    if a.verb == "hotkey":
        key = {"ctrl a": "C-a", "escape": "<Escape>", "enter": "<Enter>"}[a.key]
        return env.create_action("PRESS_KEY", key=env.action_space_config.allowed_keys.index(key))
    if a.verb == "wait":
        return env.create_action("NONE")
    raise ValueError(f"no peer action for {text!r}")


def replay_peer(task: str, plays: dict[int, list[str]]) -> dict[str, Any]:
    env = peer_env(task)
    env.reset(seed=10_000)  # driver start and page load: not counted
    resets, steps, wins = [], [], 0
    for seed, actions in plays.items():
        t0 = time.perf_counter()
        env.reset(seed=seed)
        resets.append(time.perf_counter() - t0)
        for text in actions:
            action = to_peer(env, text)
            t0 = time.perf_counter()
            _, _, _, _, info = env.step(action)
            steps.append(time.perf_counter() - t0)
        wins += bool(info.get("done") and info.get("raw_reward", 0) >= 1)
    env.close()
    return {"resets": resets, "steps": steps, "successes": wins}


def summary(runs: list[dict[str, Any]], episodes: int) -> dict[str, Any]:
    resets = np.array([t for r in runs for t in r["resets"]])
    steps = np.array([t for r in runs for t in r["steps"]])
    busy = resets.sum() + steps.sum()
    return {
        "episodes": episodes,
        "steps": int(steps.size),
        "successes": int(sum(r["successes"] for r in runs)),
        "episodes_per_s": round(episodes / busy, 2),
        "reset_p50_ms": round(float(np.percentile(resets, 50)) * 1000, 1),
        "reset_p95_ms": round(float(np.percentile(resets, 95)) * 1000, 1),
        "step_p50_ms": round(float(np.percentile(steps, 50)) * 1000, 1),
        "step_p95_ms": round(float(np.percentile(steps, 95)) * 1000, 1),
    }


def expert_success(seeds: int) -> dict[str, float]:
    rates = {}
    for task in expert_tasks():
        plays = record(task, range(seeds))
        wins = replay_agentrl(task, plays)["successes"]
        rates[task] = wins / seeds
        print(f"  expert {task}: {wins}/{seeds}", flush=True)
    return rates


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seeds", type=int, default=30, help="episodes per task")
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument(
        "--expert-seeds", type=int, default=0, help="also measure every expert on this many seeds"
    )
    ap.add_argument("--out", type=Path, default=Path(__file__).parent / "results" / "env_throughput.json")
    args = ap.parse_args()
    tasks, seeds = args.tasks.split(","), range(args.seeds)
    ours, peer, per_task = [], [], {}
    t_start = time.time()
    for task in tasks:
        plays = record(task, seeds)
        a, b = replay_agentrl(task, plays), replay_peer(task, plays)
        ours.append(a)
        peer.append(b)
        per_task[task] = {"agentrl": summary([a], len(seeds)), "miniwob_selenium": summary([b], len(seeds))}
        print(f"{task}: agentrl {per_task[task]['agentrl']}\n{'':{len(task)}}  peer    "
              f"{per_task[task]['miniwob_selenium']}", flush=True)  # fmt: skip
    total = {
        "agentrl": summary(ours, len(tasks) * len(seeds)),
        "miniwob_selenium": summary(peer, len(tasks) * len(seeds)),
    }
    result: dict[str, Any] = {
        "benchmark": "MiniWoB++ env throughput, same tasks, seeds and expert actions through both envs",
        "ratio": round(total["agentrl"]["episodes_per_s"] / total["miniwob_selenium"]["episodes_per_s"], 2),
        "ratio_definition": "agentrl episodes/s over the miniwob package's Selenium env episodes/s (higher is better)",
        "targets": {"ratio": TARGET_RATIO, "agentrl_reset_p50_ms": TARGET_RESET_P50_S * 1000},
        **total,
        "per_task": per_task,
        "tasks": tasks,
        "seeds_per_task": args.seeds,
        "machine": {
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
            "load_avg_at_start": round(os.getloadavg()[0], 2),
            "python": platform.python_version(),
            "packages": _versions(),
        },
        "wall_s": round(time.time() - t_start, 1),
    }
    if args.expert_seeds:
        result["expert_success"] = {"seeds": args.expert_seeds, "rates": expert_success(args.expert_seeds)}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps({k: result[k] for k in ("ratio", "agentrl", "miniwob_selenium")}, indent=2))


def _versions() -> dict[str, str]:
    from importlib.metadata import version

    return {p: version(p) for p in ("playwright", "selenium", "miniwob", "gymnasium")}


if __name__ == "__main__":
    main()
