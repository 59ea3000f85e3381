"""The Parquet row schema of a stored trajectory, its version, and migrations from older versions.

Version history:
    0  (agentrl 0.0 pre-release) no `status`/`reason`/`meta`, episode return in `return_`.
    1  current.
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from rollout.trajectory import SCHEMA_VERSION, Trajectory, Turn

TURN = pa.struct([
    ("prompt_ids", pa.list_(pa.int32())),
    ("response_ids", pa.list_(pa.int32())),
    ("logprobs", pa.list_(pa.float64())),
    ("text", pa.string()),
    ("image_refs", pa.list_(pa.string())),
    ("action", pa.string()),  # JSON of Action.to_dict(), null when the response did not parse
    ("action_error", pa.string()),
    ("reward", pa.float64()),
    ("policy_version", pa.int64()),
    ("finish_reason", pa.string()),
    ("timings", pa.string()),  # JSON
])  # fmt: skip

SCHEMA = pa.schema([
    ("id", pa.string()),
    ("run", pa.string()),
    ("iteration", pa.int32()),
    ("env_id", pa.string()),
    ("seed", pa.int64()),
    ("instruction", pa.string()),
    ("reward", pa.float64()),
    ("success", pa.bool_()),
    ("terminated", pa.bool_()),
    ("truncated", pa.bool_()),
    ("status", pa.string()),
    ("reason", pa.string()),
    ("num_steps", pa.int32()),
    ("min_policy_version", pa.int64()),
    ("max_policy_version", pa.int64()),
    ("created_at", pa.float64()),
    ("meta", pa.string()),  # JSON
    ("schema_version", pa.int16()),
    ("turns", pa.list_(TURN)),
])  # fmt: skip


def to_row(t: Trajectory, run: str, iteration: int) -> dict[str, Any]:
    versions = t.policy_versions or [0]
    return {
        "id": t.id, "run": run, "iteration": iteration, "env_id": t.env_id, "seed": t.seed,
        "instruction": t.instruction, "reward": t.reward, "success": t.success, "terminated": t.terminated,
        "truncated": t.truncated, "status": t.status, "reason": t.reason, "num_steps": t.num_steps,
        "min_policy_version": min(versions), "max_policy_version": max(versions), "created_at": t.created_at,
        "meta": json.dumps(t.meta, sort_keys=True), "schema_version": SCHEMA_VERSION,
        "turns": [{
            "prompt_ids": u.prompt_ids, "response_ids": u.response_ids, "logprobs": u.logprobs, "text": u.text,
            "image_refs": u.image_refs, "action": None if u.action is None else json.dumps(u.action, sort_keys=True),
            "action_error": u.action_error, "reward": u.reward, "policy_version": u.policy_version,
            "finish_reason": u.finish_reason, "timings": json.dumps(u.timings, sort_keys=True),
        } for u in t.turns],
    }  # fmt: skip


def migrate_row(row: dict[str, Any]) -> dict[str, Any]:
    """Bring a row of any known schema version to the current one."""
    from agentrl.data.store import StoreError

    version = row.get("schema_version") or 0
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"schema version {version} is newer than this agentrl reads ({SCHEMA_VERSION}); upgrade agentrl"
        )
    if version == 0:
        row = dict(row)
        row["reward"] = row.pop("return_", row.get("reward", 0.0))
        row.setdefault("status", "ok")
        row.setdefault("reason", "")
        row.setdefault("meta", "{}")
        row["status"] = row["status"] or "ok"
        row["reason"] = row["reason"] or ""
        row["meta"] = row["meta"] or "{}"
        row["schema_version"] = 1
    return row


def from_row(row: dict[str, Any], images: dict[str, np.ndarray]) -> Trajectory:
    turns = [Turn(
        prompt_ids=list(u["prompt_ids"]), response_ids=list(u["response_ids"]), logprobs=list(u["logprobs"]),
        text=u["text"], image_refs=list(u["image_refs"]),
        action=None if u["action"] is None else json.loads(u["action"]), action_error=u["action_error"],
        reward=u["reward"], policy_version=u["policy_version"], finish_reason=u["finish_reason"],
        timings=json.loads(u["timings"] or "{}"),
    ) for u in row["turns"]]  # fmt: skip
    return Trajectory(
        env_id=row["env_id"],
        seed=row["seed"],
        instruction=row["instruction"],
        turns=turns,
        images=images,
        reward=row["reward"],
        success=row["success"],
        terminated=row["terminated"],
        truncated=row["truncated"],
        status=row["status"],
        reason=row["reason"],
        id=row["id"],
        created_at=row["created_at"],
        meta=json.loads(row["meta"] or "{}"),
    )
