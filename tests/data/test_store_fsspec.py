"""The trajectory store on fsspec URLs: fsspec's in-memory filesystem (`memory://`, committed by one PUT,
and again forced through the temp-file-and-rename protocol), and a real S3 API: moto's S3 server on
127.0.0.1, reached over HTTP through s3fs and botocore exactly as a bucket on AWS would be. Nothing of
agentrl is mocked; the server speaks the S3 protocol."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest
from fsspec.core import url_to_fs

import agentrl.data.fs as fs_mod
from agentrl.data.atomic import TEMP_PREFIX
from agentrl.data.fs import StoreURLError
from agentrl.data.pools import PoolEntry, PoolError
from agentrl.data.store import Query, StoreWriter, TrajectoryStore
from tests.data.factory import make_batch

ROOT = Path(__file__).resolve().parents[2]
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_DEFAULT_REGION": "us-east-1",
}


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A local S3 server (moto) for this module; s3fs reaches it through fsspec's config for "s3"."""
    pytest.importorskip("s3fs")
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with pytest.MonkeyPatch.context() as mp:
        for k, v in CREDENTIALS.items():
            mp.setenv(k, v)
        mp.setitem(fsspec.config.conf, "s3", {"endpoint_url": endpoint})
        yield endpoint
    fsspec.get_filesystem_class("s3").clear_instance_cache()
    server.stop()


def _bucket(s3_endpoint: str) -> str:
    name = f"store-{uuid.uuid4().hex[:12]}"
    fsspec.filesystem("s3").mkdir(name)
    return name


@pytest.fixture(params=["memory", "memory-rename", "s3"])
def url(request, monkeypatch) -> Iterator[str]:
    """A fresh, empty store URL on each filesystem."""
    if request.param == "s3":
        yield f"s3://{_bucket(request.getfixturevalue('s3_endpoint'))}/stores/a"
        return
    if request.param == "memory-rename":  # as on sftp/hdfs: temp file, then fs.mv
        monkeypatch.setattr(fs_mod, "ATOMIC_PUT", fs_mod.ATOMIC_PUT - {"memory"})
    where = f"memory://test-{uuid.uuid4().hex[:12]}/store"
    yield where
    fsspec.filesystem("memory").rm(url_to_fs(where)[1], recursive=True)


def _files(url: str) -> list[str]:
    fs, path = url_to_fs(url)
    return [p[len(path) + 1 :] for p in fs.find(path)]


def _read_part(part: str, columns: list[str]):
    with fsspec.open(part, "rb") as f:
        return pq.read_table(f, columns=columns)


def test_round_trip_with_images_queries_and_manifest(url):
    trajs = make_batch(0, 12)
    store = TrajectoryStore(url)
    assert isinstance(store.root, str) and store.root.endswith(
        "/stores/a" if url.startswith("s3") else "/store"
    )
    first = store.write(trajs[:7], "r", 0)
    with StoreWriter(store, "r", 1, flush_every=3) as w:
        w.add_all(trajs[7:])
    store.write(make_batch(50, 2), "other", 0)
    parts = store.parts(run="r")  # (run, iteration, commit time) order
    assert len(store.parts()) == 4 and len(parts) == 3 and parts[0] == first
    assert all(p.startswith(f"{store.root}/parts/run=r/iteration={int(k > 0)}/") for k, p in enumerate(parts))
    assert not [f for f in _files(url) if TEMP_PREFIX in f]  # no temporary left behind
    reader = TrajectoryStore(url)  # a fresh store: nothing cached
    assert {t.id: t for t in reader.query(Query(run="r"))} == {t.id: t for t in trajs}  # pixels included
    assert reader.runs() == ["other", "r"] and reader.count() == 14
    assert reader.count(Query(run="r", iteration=1)) == 5 and reader.count(Query(success=True)) == 7
    assert [t.id for t in reader.query(Query(run="r", task=trajs[1].env_id), with_images=False)] == [
        t.id for t in trajs if t.env_id == trajs[1].env_id
    ]
    assert reader.get(trajs[3].id[:10]) == trajs[3] and reader.errors == []
    manifest = store.write_manifest("r")
    with fsspec.open(manifest, "rt") as f:
        summary = json.load(f)
    assert summary["parts"] == [p[len(store.root) + 1 :] for p in parts]
    assert summary["iterations"]["0"]["trajectories"] == 7 and summary["iterations"]["1"]["trajectories"] == 5


def test_images_are_stored_once_across_parts(url):
    trajs = make_batch(0, 10)  # every trajectory starts on the same screen
    shared_ref = trajs[0].turns[0].image_refs[0]
    store = TrajectoryStore(url)
    store.write(trajs[:5], "r", 0)
    store.write(trajs[5:], "r", 0)  # the same writer: the second part points at the first
    first, second = (
        [e["ref"] for row in _read_part(p, ["image_data"])["image_data"].to_pylist() for e in row]
        for p in store.parts()
    )
    assert first.count(shared_ref) == 1 and shared_ref not in second
    assert len(first) + len(second) == len({r for t in trajs for r in t.images})
    rows = {r["id"]: r for r in store.rows()}
    homes = {loc["file"] for loc in rows[trajs[7].id]["images"] if loc["ref"] == shared_ref}
    assert homes == {store.parts()[0][len(store.root) + 1 :]}
    assert {t.id: t for t in TrajectoryStore(url).query()} == {t.id: t for t in trajs}


def test_pools(url):
    trajs = make_batch(0, 6)
    store = TrajectoryStore(url)
    store.write(trajs, "r", 0)
    assert store.pools.names() == []
    store.pools.add("sft", [PoolEntry(t.id, 1, "env") for t in trajs[:3]])
    store.pools.add("sft", [PoolEntry(trajs[0].id, 1, "judge", "re-judged")])
    store.pools.add("ct", [PoolEntry(trajs[5].id, 0, "env")])
    reader = TrajectoryStore(url)
    assert (
        reader.pools.names() == ["ct", "sft"]
        and reader.pools.entries("sft")[trajs[0].id].validator == "judge"
    )
    assert [t.id for t in reader.query(Query(pool="sft"))] == [t.id for t in trajs[:3]]
    before = reader.pools.entries("sft")
    merged = reader.pools.compact("sft")
    assert isinstance(merged, str) and merged.startswith(f"{reader.root}/pools/sft/")
    assert reader.pools.entries("sft") == before
    assert [f for f in _files(url) if f.startswith("pools/sft/")] == [merged[len(reader.root) + 1 :]]
    with pytest.raises(PoolError, match="pool name"):
        reader.pools.add("../evil", [PoolEntry("x")])


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_part_is_named_and_the_rest_readable(url, damage):
    store = TrajectoryStore(url)
    for k in range(3):
        store.write(make_batch(4 * k, 4, shared_seed=None), "r", k)  # no image shared between parts
    bad = store.parts()[1]
    fs, path = url_to_fs(bad)
    data = fs.cat_file(path)
    fs.pipe_file(path, data[: len(data) // 2] if damage == "truncated" else os.urandom(len(data)))
    reader = TrajectoryStore(url)
    assert [t.id for t in reader.query()] == [t.id for t in make_batch(0, 4) + make_batch(8, 4)]
    assert len(reader.errors) == 1 and reader.errors[0].startswith(f"{bad}: unreadable part")
    reader.errors.clear()
    assert reader.count() == 8 and len(reader.errors) == 1 and bad in reader.errors[0]


def test_gc_removes_only_stale_temporaries(url):
    store = TrajectoryStore(url)
    store.write(make_batch(0, 2), "r", 0)
    fs, path = url_to_fs(url)
    tmp = f"{path}/parts/run=r/iteration=0/{TEMP_PREFIX}dead-part-1-ab.parquet"
    fs.pipe_file(tmp, b"half a part")  # what a writer killed before its rename leaves
    assert len(store.parts()) == 1 and store.count() == 2 and store.errors == []  # never read
    assert store.gc(min_age_s=3600) == 0 and fs.exists(tmp)  # young temporaries are left alone
    assert store.gc(min_age_s=0) == 1 and not fs.exists(tmp)
    assert store.count() == 2


def test_rename_protocol_leaves_nothing_when_the_rename_fails(monkeypatch):
    """On a filesystem that commits by rename, a failed commit leaves neither the part nor its temporary."""
    monkeypatch.setattr(fs_mod, "ATOMIC_PUT", frozenset())
    where = f"memory://test-{uuid.uuid4().hex[:12]}/store"
    store = TrajectoryStore(where)
    fs = store._fs.fs

    def broken_mv(*args, **kwargs):
        raise OSError("connection reset")

    monkeypatch.setattr(fs, "mv", broken_mv)
    with pytest.raises(OSError, match="connection reset"):
        store.write(make_batch(0, 2), "r", 0)
    monkeypatch.undo()
    assert _files(where) == [] and TrajectoryStore(where).count() == 0
    fs.rm(url_to_fs(where)[1], recursive=True)


def test_file_urls_use_the_local_code_path(tmp_path):
    store = TrajectoryStore(tmp_path.as_uri())
    assert store.root == tmp_path and isinstance(store._fs, fs_mod.LocalRoot)  # fsync + atomic rename
    store.write(make_batch(0, 3), "r", 0)
    assert TrajectoryStore(tmp_path).count() == 3 and store.parts()[0].parent.parent.name == "run=r"


def test_unknown_protocols_are_refused_in_one_line():
    from pydantic import ValidationError

    from agentrl.train.data import TrainData

    with pytest.raises(StoreURLError, match=r"^'nope://b/x': unknown storage protocol 'nope://'$"):
        TrajectoryStore("nope://b/x")
    with pytest.raises(ValidationError, match="store\n.*unknown storage protocol 'nope://'"):
        TrainData(store="nope://b/x")
    assert TrainData(store="s3://bucket/prefix").store == "s3://bucket/prefix"  # not mangled by Path()


def test_cli_stats_on_an_s3_store(s3_endpoint, capsys):
    """`agentrl data stats --store s3://...` as a user runs it: the endpoint and credentials from the
    environment only (FSSPEC_S3_ENDPOINT_URL, AWS_*), no config file."""
    url = f"s3://{_bucket(s3_endpoint)}/store"
    trajs = make_batch(0, 6)
    store = TrajectoryStore(url)
    store.write(trajs, "demos", 0)
    store.pools.add("sft", [PoolEntry(t.id) for t in trajs if t.success])
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "FSSPEC_"))}
    env.update(CREDENTIALS, FSSPEC_S3_ENDPOINT_URL=s3_endpoint)
    agentrl = str(Path(sys.executable).parent / "agentrl")
    out = subprocess.run(
        [agentrl, "data", "stats", "--store", url],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.stdout.splitlines()[2:] if ln.strip()}
    assert out.stdout.startswith(f"{url}: ") and rows["all"] == ["6", "3", "50.0%"]
    assert "pools: sft 3" in out.stdout and "runs: demos" in out.stdout and out.stderr == ""

    from agentrl.cli import main

    assert main(["data", "stats", "--store", f"s3://{_bucket(s3_endpoint)}/empty"]) == 2
    assert main(["data", "stats", "--store", "nope://b/x"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and "is not a trajectory store" in err[0]
    assert err[1].endswith("--store: 'nope://b/x': unknown storage protocol 'nope://'")
    # a bucket that does not exist: one line naming --store, whatever botocore raises underneath
    assert main(["data", "stats", "--store", "s3://no-such-bucket-here/store"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--store: " in err[0] and "no-such-bucket-here" in err[0]
