"""A static HTML trajectory viewer: one page and the screenshots as PNG files, no server, no network.

Per episode: every turn's screenshot with the action drawn on it (a circle where a click lands, two for a
double click, a ring for a right click, an arrow for a drag or scroll, the typed text or pressed keys in
a caption), the model's thought and raw action text, the reward and any action error. Filters by task,
outcome and run. Reads any trajectory store: an `agentrl eval` output (OUT/store), or the store of a
rollout, PPO or flywheel run.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from agentrl.data.query import Query
from agentrl.data.store import TrajectoryStore
from envs.actions import ActionError, parse_action
from rollout.trajectory import Trajectory, png_bytes

ASSETS = Path(__file__).parent  # viewer.html, viewer.js (package data)


def find_store(path: str | Path) -> Path:
    """The store root at `path`: a store itself (parts/), or a run directory holding one (store/)."""
    p = Path(path)
    for candidate in (p, p / "store"):
        if (candidate / "parts").is_dir():
            return candidate
    raise ValueError(
        f"'{path}' holds no trajectory store (expected {p}/parts/ or {p}/store/parts/: "
        "an `agentrl eval` output directory or a store root such as runs/store)"
    )


def outcome(t: Trajectory) -> str:
    if t.status != "ok":
        return "error"
    return "success" if t.success else "failure"


def _thought(text: str) -> str:
    try:
        return parse_action(text).thought
    except ActionError:
        return ""


def episode_record(t: Trajectory, write_image: Any) -> dict[str, Any]:
    """One episode as the page reads it; `write_image(ref, array) -> relative path`."""
    steps = []
    for turn in t.turns:
        ref = turn.image_refs[-1] if turn.image_refs else None  # the screen the action was taken on
        img = t.images.get(ref) if ref else None
        steps.append({
            "image": write_image(ref, img) if img is not None else None,
            "width": int(img.shape[1]) if img is not None else 0,
            "height": int(img.shape[0]) if img is not None else 0,
            "text": turn.text,
            "thought": _thought(turn.text),
            "action": turn.action,
            "action_error": turn.action_error,
            "reward": turn.reward,
        })  # fmt: skip
    return {
        "id": t.id, "run": t.meta.get("run", ""), "task": t.env_id, "seed": t.seed,
        "instruction": t.instruction, "outcome": outcome(t), "reward": t.reward,
        "reason": t.reason, "steps": steps,
    }  # fmt: skip


def build_viewer(
    store_path: str | Path, out: str | Path, run: str | None = None, limit: int = 500
) -> tuple[Path, int]:
    """Write OUT/index.html and OUT/img/*.png for up to `limit` episodes; returns (page, episodes)."""
    store = TrajectoryStore(find_store(store_path))
    out = Path(out)
    (out / "img").mkdir(parents=True, exist_ok=True)

    def write_image(ref: str, img: Any) -> str:
        rel = f"img/{ref}.png"
        if not (out / rel).exists():
            (out / rel).write_bytes(png_bytes(img))
        return rel

    episodes = []
    for t in store.query(Query(run=run)):
        episodes.append(episode_record(t, write_image))
        if len(episodes) >= limit:
            break
    episodes.sort(key=lambda e: (e["task"], e["run"], e["seed"]))
    data = json.dumps({"store": str(store.root), "episodes": episodes}).replace("</", "<\\/")
    template = (ASSETS / "viewer.html").read_text()
    page = template.replace("/*DATA*/null", data).replace("/*SCRIPT*/", (ASSETS / "viewer.js").read_text())
    (out / "index.html").write_text(page)
    return out / "index.html", len(episodes)
