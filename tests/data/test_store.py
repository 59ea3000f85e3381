"""The trajectory store against real files: lossless round trips, image dedup, queries, pools, manifests."""

from __future__ import annotations

import pyarrow.parquet as pq
import pytest

from agentrl.data.pools import PoolEntry, PoolError
from agentrl.data.store import Query, StoreError, StoreWriter, TrajectoryStore
from tests.data.factory import make_batch, make_trajectory


@pytest.mark.parametrize("codec", ["zstd", "lz4", "png"])
def test_round_trip_is_lossless_with_images(tmp_path, codec):
    trajs = make_batch(0, 12)
    store = TrajectoryStore(tmp_path, image_codec=codec)
    store.write(trajs[:7], "r", 0)
    store.write(trajs[7:], "r", 1)
    back = {t.id: t for t in TrajectoryStore(tmp_path).query()}  # a fresh store: nothing cached
    assert set(back) == {t.id for t in trajs}
    for t in trajs:
        assert back[t.id] == t  # Trajectory.__eq__ compares every field and every image's pixels
        assert back[t.id].images.keys() == t.images.keys()
        assert all(img.flags.writeable for img in back[t.id].images.values())


def test_query_without_images_and_rows(tmp_path):
    trajs = make_batch(0, 4)
    store = TrajectoryStore(tmp_path)
    store.write(trajs, "r", 0)
    lite = list(store.query(with_images=False))
    assert [t.id for t in lite] == [t.id for t in trajs]
    assert all(t.images == {} for t in lite) and lite[0].turns == trajs[0].turns
    rows = list(store.rows())
    assert "image_data" not in rows[0] and rows[0]["num_steps"] == trajs[0].num_steps


def _image_entries_per_part(store: TrajectoryStore) -> list[list[str]]:
    return [
        [e["ref"] for row in pq.read_table(p, columns=["image_data"])["image_data"].to_pylist() for e in row]
        for p in store.parts()
    ]


def test_images_are_stored_once(tmp_path):
    trajs = make_batch(0, 10)  # every trajectory starts on the same screen
    shared_ref = trajs[0].turns[0].image_refs[0]
    assert all(t.turns[0].image_refs[0] == shared_ref for t in trajs)
    store = TrajectoryStore(tmp_path)
    store.write(trajs[:5], "r", 0)
    store.write(trajs[5:], "r", 0)  # the same writer: the second part points at the first
    first, second = _image_entries_per_part(store)
    assert first.count(shared_ref) == 1 and shared_ref not in second
    distinct = {r for t in trajs for r in t.images}
    assert len(first) + len(second) == len(distinct)  # every distinct image exactly once
    rows = {r["id"]: r for r in store.rows()}
    homes = {loc["file"] for loc in rows[trajs[7].id]["images"] if loc["ref"] == shared_ref}
    assert homes == {str(store.parts()[0].relative_to(tmp_path))}
    assert {t.id: t for t in TrajectoryStore(tmp_path).query()} == {t.id: t for t in trajs}


def test_dedup_index_is_bounded(tmp_path):
    trajs = make_batch(0, 6)
    store = TrajectoryStore(tmp_path, dedup_index_size=2)  # forgets older images: writes them again
    store.write(trajs[:3], "r", 0)
    store.write(trajs[3:], "r", 0)
    assert len(store._homes) == 2
    assert {t.id: t for t in TrajectoryStore(tmp_path).query()} == {t.id: t for t in trajs}


def test_queries(tmp_path):
    store = TrajectoryStore(tmp_path)
    store.write(make_batch(0, 6, created_at=1000.0), "alpha", 0)
    store.write(make_batch(6, 6, policy_version=4, created_at=2000.0), "alpha", 1)
    store.write(make_batch(12, 6, policy_version=8, created_at=3000.0), "beta", 0)

    def ids(**kw) -> set[int]:
        return {int(t.id.split("-")[1]) for t in store.query(Query(**kw), with_images=False)}

    assert ids() == set(range(18))
    assert store.runs() == ["alpha", "beta"]
    assert ids(run="alpha") == set(range(12)) and ids(run="beta") == set(range(12, 18))
    assert ids(run="alpha", iteration=1) == set(range(6, 12)) and ids(iteration=0) == set(range(6)) | set(
        range(12, 18)
    )
    assert ids(env_id="agentrl/toy.click-target-v0") == {i for i in range(18) if i % 3 == 0}
    assert ids(task="agentrl/toy") == {i for i in range(18) if i % 3 != 2}
    assert ids(task="agentrl/miniwob.click-button") == {i for i in range(18) if i % 3 == 2}
    assert ids(success=True) == {i for i in range(18) if i % 2 == 0}
    assert ids(success=False, run="beta") == {13, 15, 17}
    assert ids(seed=7) == {7}
    # each trajectory spans versions v and v+1 (factory): bounds hold for every turn
    assert ids(min_policy_version=4) == set(range(6, 18))
    assert ids(max_policy_version=5) == set(range(12))
    assert ids(min_policy_version=4, max_policy_version=5) == set(range(6, 12))
    assert ids(since=1500.0) == set(range(6, 18)) and ids(until=1500.0) == set(range(6))
    assert ids(since=1500.0, until=2500.0) == set(range(6, 12))
    assert ids(ids=["traj-00003", "traj-00014"]) == {3, 14}
    assert ids(run="nope") == set() and store.count(Query(success=True)) == 9
    assert store.count() == 18 and not store.errors


def test_pools_select_and_later_entries_win(tmp_path):
    store = TrajectoryStore(tmp_path)
    trajs = make_batch(0, 6)
    store.write(trajs, "r", 0)
    store.pools.add("sft", [PoolEntry(t.id, 1, "env") for t in trajs[:3]])
    store.pools.add("sft", [PoolEntry(trajs[0].id, 1, "judge", "re-judged")])
    assert store.pools.names() == ["sft"]
    assert store.pools.entries("sft")[trajs[0].id].validator == "judge"
    got = [t.id for t in store.query(Query(pool="sft", success=True), with_images=False)]
    assert got == [trajs[0].id, trajs[2].id]
    before = store.pools.entries("sft")
    store.pools.compact("sft")
    assert len(list((tmp_path / "pools" / "sft").glob("*.jsonl"))) == 1
    assert store.pools.entries("sft") == before
    with pytest.raises(PoolError, match="pool name"):
        store.pools.add("../evil", [PoolEntry("x")])
    (tmp_path / "pools" / "sft" / "bad.jsonl").write_text('{"nope": 1}\n')
    with pytest.raises(PoolError, match="bad.jsonl:1"):
        store.pools.ids("sft")


def test_get_by_id_prefix(tmp_path):
    store = TrajectoryStore(tmp_path)
    trajs = make_batch(0, 12)
    store.write(trajs, "r", 0)
    assert store.get("traj-00011") == trajs[11]
    with pytest.raises(StoreError, match="12 trajectories"):
        store.get("traj-")
    with pytest.raises(StoreError, match="no trajectory"):
        store.get("zzz")


def test_writer_commits_in_parts_and_refuses_bad_names(tmp_path):
    store = TrajectoryStore(tmp_path, durable=False)
    w = StoreWriter(store, "r", 2, flush_every=4)
    committed = w.add_all(make_batch(0, 10))
    assert len(committed) == 8 and len(store.parts()) == 2 and store.count() == 8
    assert [t.id for t in w.close()] == ["traj-00008", "traj-00009"] and w.written == 10
    assert store.count(Query(iteration=2)) == 10
    assert store.write([], "r") is None
    with pytest.raises(StoreError, match="run name"):
        store.write([make_trajectory(0)], "a/b")
    with pytest.raises(StoreError, match="iteration"):
        store.write([make_trajectory(0)], "r", -1)
    with pytest.raises(ValueError, match="unknown image codec 'gif'"):
        TrajectoryStore(tmp_path, image_codec="gif")


def test_manifest(tmp_path):
    import json

    store = TrajectoryStore(tmp_path)
    store.write(make_batch(0, 6), "r", 0)
    store.write(make_batch(6, 3), "r", 1)
    m = json.loads(store.write_manifest("r").read_text())
    assert m["schema_version"] == 2 and len(m["parts"]) == 2
    assert m["iterations"]["0"]["trajectories"] == 6 and m["iterations"]["0"]["successes"] == 3
    assert m["iterations"]["1"]["env_ids"] == {
        "agentrl/toy.click-target-v0": 1,
        "agentrl/toy.click-sequence-v0": 1,
        "agentrl/miniwob.click-button-v0": 1,
    }
