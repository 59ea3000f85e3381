"""The Parquet row schema of a stored trajectory (version 2), and conversion to and from Trajectory.

One row per trajectory. Images travel in the same file as the rows that use them:

- `images`: every distinct image of the trajectory, as (ref, file): `file` is "" when the image's bytes are
  in this part, else the part (path relative to the store root) that stored them first: a screenshot
  shared by many trajectories is stored once.
- `image_data`: the bytes of the images this row stores (the first row of a part to need them), with
  their codec (agentrl.data.images) and shape.

The schema version is recorded twice: in the file's key-value metadata and in every row. Older versions
are upgraded on read (agentrl.data.migrations).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pyarrow as pa

from agentrl.data.images import codec
from rollout.trajectory import Trajectory, Turn

SCHEMA_VERSION = 2
VERSION_KEY = b"agentrl.schema_version"

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
    ("timings", pa.map_(pa.string(), pa.float64())),
])  # fmt: skip

IMAGE_LOCATION = pa.struct([("ref", pa.string()), ("file", pa.string())])
IMAGE_DATA = pa.struct([
    ("ref", pa.string()),
    ("codec", pa.string()),
    ("shape", pa.list_(pa.int32())),
    ("data", pa.binary()),
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
    ("images", pa.list_(IMAGE_LOCATION)),
    ("image_data", pa.list_(IMAGE_DATA)),
], metadata={VERSION_KEY: str(SCHEMA_VERSION).encode()})  # fmt: skip

ROW_COLUMNS = [n for n in SCHEMA.names if n != "image_data"]  # what a query without images reads
HEAD_COLUMNS = [n for n in ROW_COLUMNS if n != "turns"]  # converted by `turns_of`


def _leaves(name: str, t: pa.DataType) -> list[str]:
    if pa.types.is_list(t):
        return _leaves(f"{name}.list.element", t.value_type)
    if pa.types.is_struct(t):
        return [leaf for f in t for leaf in _leaves(f"{name}.{f.name}", f.type)]
    return [name]


# zstd and dictionary pages for every column but the image bytes: unique and compressed by their codec.
_IMAGE_BYTES = "image_data.list.element.data"
_LEAVES = [p for f in SCHEMA for p in _leaves(f.name, f.type)]
WRITE_OPTIONS = {
    "compression": {p: "none" if p == _IMAGE_BYTES else "zstd" for p in _LEAVES},
    "use_dictionary": [p for p in _LEAVES if p != _IMAGE_BYTES],
}


def to_row(
    t: Trajectory, run: str, iteration: int, homes: dict[str, str], image_codec: str = "zstd"
) -> dict[str, Any]:
    """`homes[ref]` is the part already holding an image; images not in it are stored in this row."""
    versions = t.policy_versions or [0]
    enc = codec(image_codec).encode
    new = [r for r in t.images if r not in homes]
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
            "finish_reason": u.finish_reason, "timings": list(u.timings.items()),
        } for u in t.turns],
        "images": [{"ref": r, "file": homes.get(r, "")} for r in t.images],
        "image_data": [{"ref": r, "codec": image_codec, "shape": list(t.images[r].shape),
                        "data": enc(t.images[r])} for r in new],
    }  # fmt: skip


def decode_image(entry: dict[str, Any]) -> np.ndarray:
    return codec(entry["codec"]).decode(entry["data"], entry["shape"])


def turn_from_dict(u: dict[str, Any]) -> Turn:
    return Turn(
        prompt_ids=u["prompt_ids"], response_ids=u["response_ids"], logprobs=u["logprobs"], text=u["text"],
        image_refs=u["image_refs"], action=None if u["action"] is None else json.loads(u["action"]),
        action_error=u["action_error"], reward=u["reward"], policy_version=u["policy_version"],
        finish_reason=u["finish_reason"], timings=dict(u["timings"]),
    )  # fmt: skip


def _lists(arr: pa.ListArray) -> list[list[Any]]:
    """A list column as Python lists, through numpy: several times faster than `to_pylist` on token ids."""
    flat = arr.values.to_numpy(zero_copy_only=False).tolist()
    offsets = arr.offsets.to_pylist()
    return [flat[a:b] for a, b in zip(offsets[:-1], offsets[1:])]


def turns_of(column: pa.ChunkedArray) -> list[list[Turn]]:
    """The `turns` column as each row's list of Turns, converted field by field (not row by row)."""
    out: list[list[Turn]] = []
    for chunk in column.chunks:
        f = dict(zip(TURN.names, chunk.values.flatten()))
        prompt, response, logprobs, refs = (
            _lists(f[n]) for n in ("prompt_ids", "response_ids", "logprobs", "image_refs")
        )
        text, action, error, finish, reward, version, timings = (
            f[n].to_pylist()
            for n in (
                "text",
                "action",
                "action_error",
                "finish_reason",
                "reward",
                "policy_version",
                "timings",
            )
        )
        turns = [Turn(
            prompt[i], response[i], logprobs[i], text[i], refs[i], None if action[i] is None else json.loads(action[i]),
            error[i], reward[i], version[i], finish[i], dict(timings[i]),
        ) for i in range(len(prompt))]  # fmt: skip
        offsets = chunk.offsets.to_pylist()
        out += [turns[a:b] for a, b in zip(offsets[:-1], offsets[1:])]
    return out


def from_row(
    row: dict[str, Any], images: dict[str, np.ndarray], turns: list[Turn] | None = None
) -> Trajectory:
    """A Trajectory from a row dict; `turns` when already converted (`turns_of`), else from `row["turns"]`."""
    return Trajectory(
        env_id=row["env_id"],
        seed=row["seed"],
        instruction=row["instruction"],
        turns=turns if turns is not None else [turn_from_dict(u) for u in row["turns"]],
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


def actions_key(turns: list[dict[str, Any]]) -> str:
    """The action sequence of a row's turns, canonical (equal to `Trajectory.actions_key`)."""
    return json.dumps(
        [None if u["action"] is None else json.loads(u["action"]) for u in turns], sort_keys=True
    )
