"""What the store promises when things go wrong: a writer process killed mid-write, several Ray actors
writing at once, corrupt or truncated parts, missing images, parts of older schema versions."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from agentrl.data.migrations import V0_SCHEMA, V1_SCHEMA, SchemaError, legacy_image_file, upgrade
from agentrl.data.store import Query, StoreWriter, TrajectoryStore
from rollout.trajectory import png_bytes
from tests.data.factory import make_batch

ROOT = Path(__file__).resolve().parents[2]

# The child commits parts of 4 trajectories, announcing each commit; before the last part's file is
# complete it announces MIDWRITE and stops inside the Parquet writer (one row group written, no footer).
CHILD = """
import sys, time
sys.path.insert(0, {root!r})
import pyarrow.parquet as pq
import agentrl.data.store as store_mod
from agentrl.data.store import TrajectoryStore
from tests.data.factory import make_batch

def stalled_write_table(table, where, **kw):
    with pq.ParquetWriter(where, table.schema, **kw) as w:
        w.write_table(table.slice(0, 1))
        print("MIDWRITE", where, flush=True)
        time.sleep(600)

store = TrajectoryStore({store!r})
for k in range({parts}):
    store.write(make_batch(4 * k, 4), "crash", 0)
    print("COMMITTED", 4 * k + 3, flush=True)
store_mod.pq.write_table = stalled_write_table
store.write(make_batch(4 * {parts}, 4), "crash", 0)
"""


def _run_child(store: Path, parts: int) -> tuple[subprocess.Popen, list[str]]:
    code = CHILD.format(root=str(ROOT), store=str(store), parts=parts)
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    lines = []
    for line in proc.stdout:
        lines.append(line.strip())
        if line.startswith("MIDWRITE"):
            break
    return proc, lines


def test_writer_killed_mid_write_loses_nothing_committed(tmp_path):
    proc, lines = _run_child(tmp_path, parts=3)
    try:
        assert lines[-1].startswith("MIDWRITE"), lines
        tmp_file = Path(lines[-1].split()[1])
        assert tmp_file.exists() and tmp_file.name.startswith(".tmp-")
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    committed = make_batch(0, 12)
    assert [ln.split()[0] for ln in lines] == ["COMMITTED"] * 3 + ["MIDWRITE"]
    store = TrajectoryStore(tmp_path)
    back = list(store.query())
    assert [t.id for t in back] == [t.id for t in committed] and back == committed
    assert store.errors == []  # the half-written temporary is never read
    assert tmp_file.exists() and store.gc(min_age_s=3600) == 0  # young temporaries are left alone
    assert store.gc(min_age_s=0) == 1 and not tmp_file.exists()
    store.write(make_batch(100, 2), "crash", 0)  # the store takes writes again
    assert store.count() == 14


def test_sigkill_at_an_arbitrary_moment(tmp_path):
    """A second child commits parts in a loop and is killed as soon as it reported two commits, wherever
    it is then: every part it reported stays readable and whole."""
    code = (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from agentrl.data.store import TrajectoryStore\nfrom tests.data.factory import make_batch\n"
        f"s = TrajectoryStore({str(tmp_path)!r}, durable=False)\n"
        "k = 0\nwhile True:\n    s.write(make_batch(3 * k, 3), 'loop', 0); print(3 * k + 2, flush=True); k += 1\n"
    )
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        last = [int(proc.stdout.readline()) for _ in range(2)][-1]
        os.kill(proc.pid, signal.SIGKILL)
    finally:
        proc.kill()
        proc.wait()
    store = TrajectoryStore(tmp_path)
    back = {t.id: t for t in store.query()}
    assert store.errors == []
    assert len(back) % 3 == 0 and len(back) >= last + 1  # whole parts only, at least those reported
    expected = {t.id: t for t in make_batch(0, len(back))}
    assert back == expected


def test_concurrent_writers_from_ray_actors(ray_local, tmp_path):
    ray = ray_local

    @ray.remote(num_cpus=0)
    class Writer:
        def __init__(self, root: str, rank: int) -> None:
            sys.path.insert(0, str(ROOT))
            self.store, self.rank = TrajectoryStore(root), rank

        def write(self, parts: int, per_part: int) -> list[str]:
            from tests.data.factory import make_batch as batch

            ids = []
            with StoreWriter(self.store, "shared", 0, flush_every=per_part) as w:
                for k in range(parts * per_part):
                    ids += [t.id for t in w.add(batch(1000 * self.rank + k, 1)[0])]
            return ids

    writers = [Writer.remote(str(tmp_path), r) for r in range(4)]
    results = ray.get([w.write.remote(5, 3) for w in writers])
    for w in writers:
        ray.kill(w)
    written = {i for ids in results for i in ids}
    assert len(written) == 4 * 15
    store = TrajectoryStore(tmp_path)
    back = {t.id: t for t in store.query(Query(run="shared"))}
    assert store.errors == [] and set(back) == written and len(store.parts()) == 4 * 5
    expected = {t.id: t for r in range(4) for k in range(15) for t in make_batch(1000 * r + k, 1)}
    assert back == expected


def _three_parts(root: Path) -> tuple[TrajectoryStore, list[Path]]:
    store = TrajectoryStore(root)
    for k in range(3):
        store.write(make_batch(4 * k, 4, shared_seed=None), "r", k)  # no image shared between parts
    return store, store.parts()


@pytest.mark.parametrize("damage", ["truncated", "garbage", "empty"])
def test_a_damaged_part_is_named_and_the_rest_readable(tmp_path, damage):
    _, parts = _three_parts(tmp_path)
    data = parts[1].read_bytes()
    parts[1].write_bytes(
        {"truncated": data[: len(data) // 2], "garbage": os.urandom(len(data)), "empty": b""}[damage]
    )
    store = TrajectoryStore(tmp_path)
    got = [t.id for t in store.query()]
    assert got == [t.id for t in make_batch(0, 4) + make_batch(8, 4)]
    assert len(store.errors) == 1 and store.errors[0].startswith(f"{parts[1]}: unreadable part")
    store.errors.clear()
    assert store.count() == 8 and len(store.errors) == 1 and str(parts[1]) in store.errors[0]


def test_a_missing_image_is_named_and_the_rest_readable(tmp_path):
    store = TrajectoryStore(tmp_path)
    first, second = make_batch(0, 3), make_batch(3, 3)  # share a start screen: stored in the first part
    store.write(first, "r", 0)
    store.write(second, "r", 1)
    stored_first, stored_second = store.parts()
    # the first part loses its images (rewritten without them): the second part's pointers now dangle
    table = pq.read_table(stored_first)
    empty = pa.array([[]] * table.num_rows, table.schema.field("image_data").type)
    pq.write_table(
        table.set_column(table.schema.get_field_index("image_data"), "image_data", empty), stored_first
    )
    reader = TrajectoryStore(tmp_path)
    assert list(reader.query()) == []
    assert len(reader.errors) == 6
    assert all("is missing from" in e and str(stored_first) in e for e in reader.errors)
    assert [t.id for t in reader.query(with_images=False)] == [
        t.id for t in first + second
    ]  # rows still read
    # a part that points at a deleted part: named, the other parts unaffected
    store2, parts = TrajectoryStore(tmp_path / "b"), []
    store2.write(make_batch(0, 2), "r", 0)
    store2.write(make_batch(2, 2), "r", 0)
    store2.write(make_batch(4, 2, shared_seed=None), "s", 0)
    parts = store2.parts()
    parts[0].unlink()
    reader = TrajectoryStore(tmp_path / "b")
    assert [t.id for t in reader.query()] == ["traj-00004", "traj-00005"]
    assert reader.errors and all(f"image part {parts[0]} is missing" in e for e in reader.errors)


def test_an_undecodable_image_is_named(tmp_path):
    store = TrajectoryStore(tmp_path)
    store.write(make_batch(0, 2, shared_seed=None), "r", 0)
    (path,) = store.parts()
    table = pq.read_table(path)
    rows = table.to_pylist()
    rows[0]["image_data"][0]["data"] = b"not zstd"
    pq.write_table(pa.Table.from_pylist(rows, schema=table.schema), path)
    reader = TrajectoryStore(tmp_path)
    assert [t.id for t in reader.query()] == ["traj-00001"]
    assert len(reader.errors) == 1 and "does not decode" in reader.errors[0] and str(path) in reader.errors[0]


def _legacy_rows(trajs, version: int) -> list[dict]:
    rows = []
    for t in trajs:
        turns = [{
            "prompt_ids": u.prompt_ids, "response_ids": u.response_ids, "logprobs": u.logprobs, "text": u.text,
            "image_refs": u.image_refs, "action": None if u.action is None else json.dumps(u.action),
            "action_error": u.action_error, "reward": u.reward, "policy_version": u.policy_version,
            "finish_reason": u.finish_reason, "timings": json.dumps(u.timings),
        } for u in t.turns]  # fmt: skip
        row = {"id": t.id, "run": "old", "iteration": 0, "env_id": t.env_id, "seed": t.seed,
               "instruction": t.instruction, "success": t.success, "terminated": t.terminated,
               "truncated": t.truncated, "num_steps": t.num_steps, "created_at": t.created_at, "turns": turns}  # fmt: skip
        if version == 0:
            row["return_"] = t.reward
        else:
            versions = t.policy_versions
            row.update(reward=t.reward, status=t.status, reason=t.reason, meta=json.dumps(t.meta),
                       min_policy_version=min(versions), max_policy_version=max(versions), schema_version=1)  # fmt: skip
        rows.append(row)
    return rows


@pytest.mark.parametrize("version", [0, 1])
def test_older_schema_versions_are_migrated_on_read(tmp_path, version):
    trajs = make_batch(0, 5)
    if version == 0:  # v0 had no meta, status or reason: they come back as defaults
        for t in trajs:
            t.meta = {}
    schema = V0_SCHEMA if version == 0 else V1_SCHEMA
    part = tmp_path / "parts" / "run=old" / "iteration=0" / "part-1-legacy.parquet"
    part.parent.mkdir(parents=True)
    pq.write_table(pa.Table.from_pylist(_legacy_rows(trajs, version), schema=schema), part)
    for t in trajs:  # v0/v1 kept one PNG file per image
        for ref, img in t.images.items():
            f = tmp_path / legacy_image_file(ref)
            f.parent.mkdir(parents=True, exist_ok=True)
            f.write_bytes(png_bytes(img))
    store = TrajectoryStore(tmp_path)
    store.write(make_batch(50, 2), "new", 0)  # old and new parts side by side
    assert list(store.query(Query(run="old"))) == trajs
    assert store.count(Query(success=True)) == 3 + 1 and store.errors == []
    assert store.count(Query(run="old", min_policy_version=0, max_policy_version=1)) == 5
    # a missing legacy image file: named, the other trajectories still read
    missing = tmp_path / legacy_image_file(trajs[2].turns[-1].image_refs[0])
    missing.unlink()
    reader = TrajectoryStore(tmp_path)
    assert [t.id for t in reader.query(Query(run="old"))] == [t.id for t in trajs if t is not trajs[2]]
    assert reader.errors == [f"{part}: trajectory {trajs[2].id}: image file {missing} is missing"]


def test_a_newer_or_unknown_schema_is_refused_by_name(tmp_path):
    store = TrajectoryStore(tmp_path)
    store.write(make_batch(0, 2), "r", 0)
    (good,) = store.parts()
    newer = good.with_name("part-9-newer.parquet")
    table = pq.read_table(good)
    pq.write_table(table.replace_schema_metadata({b"agentrl.schema_version": b"99"}), newer)
    odd = good.with_name("part-9-odd.parquet")
    pq.write_table(pa.table({"id": ["x"], "schema_version": pa.array([1], pa.int16())}), odd)
    reader = TrajectoryStore(tmp_path)
    assert [t.id for t in reader.query()] == ["traj-00000", "traj-00001"]
    assert len(reader.errors) == 2
    assert any(e.startswith(f"{newer}: schema version 99 is newer") for e in reader.errors)
    assert any(e.startswith(f"{odd}: columns do not match schema version 1") for e in reader.errors)
    with pytest.raises(SchemaError, match="newer"):
        upgrade(table, 3)
