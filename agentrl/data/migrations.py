"""Older row schemas of the store, and the upgrades that bring their tables to the current version.

Version history:
    0  agentrl 0.0 pre-release: episode return in `return_`; no `status`, `reason`, `meta`, policy-version
       bounds or `schema_version`; images as PNG files `images/<ab>/<ref>.png` beside the parts.
    1  agentrl 0.1 first store: the v2 columns but `images`/`image_data`; images still PNG files.
    2  current (agentrl.data.schema): images stored in the parts themselves.

A part's version is read from its file metadata (v2+), else from its columns. Each upgrade is a function of
one signature, table -> table of the next version, registered under the version it upgrades from.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import pyarrow as pa

from agentrl.data.schema import SCHEMA, SCHEMA_VERSION, TURN, VERSION_KEY


class SchemaError(ValueError):
    """A part whose schema this agentrl cannot read."""


# v0 and v1 turns: as v2's, with the timings as a JSON string.
V1_TURN = pa.struct([f if f.name != "timings" else pa.field("timings", pa.string()) for f in TURN])

V0_SCHEMA = pa.schema([
    ("id", pa.string()), ("run", pa.string()), ("iteration", pa.int32()), ("env_id", pa.string()),
    ("seed", pa.int64()), ("instruction", pa.string()), ("return_", pa.float64()), ("success", pa.bool_()),
    ("terminated", pa.bool_()), ("truncated", pa.bool_()), ("num_steps", pa.int32()),
    ("created_at", pa.float64()), ("turns", pa.list_(V1_TURN)),
])  # fmt: skip

V1_SCHEMA = pa.schema([
    f if f.name != "turns" else pa.field("turns", pa.list_(V1_TURN))
    for f in SCHEMA if f.name not in ("images", "image_data")
])  # fmt: skip

Upgrade = Callable[[pa.Table], pa.Table]
MIGRATIONS: dict[int, Upgrade] = {}


def migration(from_version: int) -> Callable[[Upgrade], Upgrade]:
    def register(fn: Upgrade) -> Upgrade:
        if from_version in MIGRATIONS:
            raise ValueError(f"a migration from schema version {from_version} is already registered")
        MIGRATIONS[from_version] = fn
        return fn

    return register


def legacy_image_file(ref: str) -> str:
    """Where schema v0/v1 stores kept an image (relative to the store root)."""
    return f"images/{ref[:2]}/{ref}.png"


@migration(0)
def _v0_to_v1(t: pa.Table) -> pa.Table:
    n = t.num_rows
    versions = [[u["policy_version"] for u in turns] or [0] for turns in t["turns"].to_pylist()]
    t = t.rename_columns(["reward" if c == "return_" else c for c in t.column_names])
    t = t.append_column("status", pa.array(["ok"] * n, pa.string()))
    t = t.append_column("reason", pa.array([""] * n, pa.string()))
    t = t.append_column("meta", pa.array(["{}"] * n, pa.string()))
    t = t.append_column("min_policy_version", pa.array([min(v) for v in versions], pa.int64()))
    t = t.append_column("max_policy_version", pa.array([max(v) for v in versions], pa.int64()))
    t = t.append_column("schema_version", pa.array([1] * n, pa.int16()))
    return t.select(V1_SCHEMA.names).cast(V1_SCHEMA)


@migration(1)
def _v1_to_v2(t: pa.Table) -> pa.Table:
    images, all_turns = [], t["turns"].to_pylist()
    for turns in all_turns:
        refs = dict.fromkeys(r for u in turns for r in u["image_refs"])  # distinct, in order
        images.append([{"ref": r, "file": legacy_image_file(r)} for r in refs])
        for u in turns:
            u["timings"] = list(json.loads(u["timings"] or "{}").items())
    t = t.set_column(
        t.schema.get_field_index("turns"), "turns", pa.array(all_turns, SCHEMA.field("turns").type)
    )
    t = t.append_column("images", pa.array(images, SCHEMA.field("images").type))
    t = t.append_column("image_data", pa.array([[]] * t.num_rows, SCHEMA.field("image_data").type))
    t = t.set_column(t.schema.get_field_index("schema_version"), "schema_version",
                     pa.array([2] * t.num_rows, pa.int16()))  # fmt: skip
    return t


def version_of(schema: pa.Schema) -> int:
    meta = schema.metadata or {}
    if VERSION_KEY in meta:
        return int(meta[VERSION_KEY])
    return 1 if "schema_version" in schema.names else 0


def upgrade(table: pa.Table, version: int) -> pa.Table:
    """Bring a table of schema `version` to the current schema."""
    if version > SCHEMA_VERSION:
        raise SchemaError(
            f"schema version {version} is newer than this agentrl reads ({SCHEMA_VERSION}); upgrade agentrl"
        )
    try:  # a missing or mistyped column fails in a migration or in the final cast: the same error
        for v in range(version, SCHEMA_VERSION):
            table = MIGRATIONS[v](table)
        return table.select(SCHEMA.names).cast(SCHEMA)
    except (KeyError, pa.ArrowInvalid, pa.ArrowTypeError, TypeError) as e:
        raise SchemaError(f"columns do not match schema version {version}: {e}") from None
