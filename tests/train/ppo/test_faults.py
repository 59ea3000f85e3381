"""Faults of a PPO run (issue 26): an engine replica's actor killed while episodes wait on it, and the trainer
process itself killed mid-run and resumed with `--resume auto`."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest

from agentrl.train.ppo.loop import PPOTrainer
from tests.train.ppo.test_loop import _cfg, _overrides


class _KillReplicaInFlight:
    """The policy engine, seen by the collector's episodes: the first request is dispatched to its replica,
    and that replica's actor is killed while the request is in flight there."""

    def __init__(self, client: object) -> None:
        self.client, self.killed, self.recovered_s = client, None, float("nan")

    async def generate(self, request: object) -> object:
        import ray

        if self.killed is not None:
            return await self.client.generate(request)
        self.killed = self.client.actors[self.client._next % len(self.client.actors)]  # the next request's
        pending = asyncio.ensure_future(self.client.generate(request))
        await asyncio.sleep(0.05)  # sent: the replica is generating it
        ray.kill(self.killed, no_restart=True)
        t0 = time.monotonic()
        out = await pending
        self.recovered_s = time.monotonic() - t0  # the kill -> its request answered by the other replica
        return out


@pytest.mark.slow
def test_an_engine_replica_killed_mid_run_fails_over_to_the_other(ray_local, tiny_model_dir, tmp_path):
    """Sync PPO, two engine replicas. In iteration 2 one replica's actor is killed with a request in flight on
    it: the request and every later one go to the replica that remains, every episode finishes ("ok"), the
    weight push skips the dead replica, and the run trains both iterations on the batch size asked for."""
    from agentrl.data.store import Query, TrajectoryStore

    over = {"mode": "sync", "iterations": 2, "value_pretrain_iterations": 0, "rewards.step_penalty": -0.1,
            "placement.replicas": 2, "placement.num_cpus": 0.25}  # fmt: skip
    cfg = _cfg(tiny_model_dir, tmp_path, **over)
    seen: dict[str, object] = {}

    def on_iteration(i: int, _row: dict) -> None:
        if i == 1:
            seen["replicas"] = list(trainer.service.engine.actors)
            trainer.service.collector.engine = seen["wrapper"] = _KillReplicaInFlight(trainer.service.engine)

    trainer = PPOTrainer(cfg, on_iteration=on_iteration)
    report = asyncio.run(trainer.run())
    trainer.on_iteration = None  # no cycle keeps the trainer alive
    rows = [r for r in report["history"] if r["kind"] == "train"]
    assert [r["version"] for r in rows] == [1.0, 2.0] and [r["episodes"] for r in rows] == [4.0, 4.0]
    killed, client = seen["wrapper"].killed, trainer.service.engine
    assert len(seen["replicas"]) == 2 and client.actors == [a for a in seen["replicas"] if a != killed]
    assert len(client.lost) == 1, client.lost
    trajs = list(TrajectoryStore(tmp_path / "store").rows(Query(run="ppo")))
    assert len(trajs) == 8 and all(t["status"] == "ok" for t in trajs), [t["reason"] for t in trajs]
    print(
        f"engine replica killed in flight: {len(trajs)} trajectories, all ok; its request answered by the other "
        f"replica {seen['wrapper'].recovered_s:.2f} s after the kill; lost: {client.lost}"
    )


def _train(model: Path, tmp_path: Path, ray_tmp: str, log: str, *resume: str) -> subprocess.Popen:
    """`agentrl train ppo` in its own session (process group), on a local Ray of its own: RAY_TMPDIR keeps
    its sessions apart from any other instance on the machine, so it neither joins one nor is joined."""
    over = {"mode": "sync", "iterations": 3, "save_every": 1, "value_pretrain_iterations": 0,
            "rewards.step_penalty": -0.1}  # fmt: skip
    cmd = [sys.executable, "-m", "agentrl", "train", "ppo", "--config", "configs/ppo_tiny.yaml"]
    env = {**os.environ, "RAY_TMPDIR": ray_tmp, "PYTHONUNBUFFERED": "1"}
    env.pop("RAY_ADDRESS", None)
    with (tmp_path / log).open("w") as out:  # the child holds its own copy
        return subprocess.Popen(
            [*cmd, *_overrides(model, tmp_path, **over), *resume],
            stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True,
        )  # fmt: skip


def _ray_pids(ray_tmp: str) -> list[int]:
    """The live processes of the Ray instance under `ray_tmp`: its GCS, raylet and workers all carry its
    RAY_TMPDIR."""
    marker, pids = f"RAY_TMPDIR={ray_tmp}".encode(), []
    for d in Path("/proc").iterdir():
        with contextlib.suppress(OSError):  # gone, or not ours
            if d.name.isdigit() and marker in (d / "environ").read_bytes().split(b"\0"):
                pids.append(int(d.name))
    return pids


def _reap(ray_tmp: str, grace_s: float = 10.0) -> int:
    """Kill, by pid, whatever process of that Ray instance outlives `grace_s`; returns how many."""
    deadline = time.monotonic() + grace_s
    while _ray_pids(ray_tmp) and time.monotonic() < deadline:
        time.sleep(0.2)
    pids = _ray_pids(ray_tmp)
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
    return len(pids)


@pytest.mark.slow
def test_a_killed_trainer_resumes_from_its_last_checkpoint_keeping_the_store(
    request, tiny_model_dir, tmp_path
):
    """`agentrl train ppo` (sync, a checkpoint every iteration) is SIGKILLed, with its process group and its
    local Ray, once a checkpoint is complete and trajectories are committed. `--resume auto` continues from
    the last complete checkpoint and finishes; the store has no torn part, and every trajectory committed
    before the kill is there exactly once, beside the batches of the iterations run again."""
    from agentrl.data.store import Query, TrajectoryStore
    from agentrl.train.checkpoint import latest

    ray_tmp = tempfile.mkdtemp(prefix="rk", dir="/tmp")  # short: Ray's socket paths live under it
    procs: list[subprocess.Popen] = []

    def finalize() -> None:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()
        _reap(ray_tmp, grace_s=0.0)
        shutil.rmtree(ray_tmp, ignore_errors=True)

    request.addfinalizer(finalize)
    out, store = tmp_path / "ppo", TrajectoryStore(tmp_path / "store")

    def ids() -> list[str]:
        return [r["id"] for r in store.rows(Query(run="ppo"))]

    procs.append(_train(tiny_model_dir, tmp_path, ray_tmp, "killed.log"))
    deadline = time.monotonic() + 120
    while latest(out, "iter") is None or not store.parts():
        assert procs[0].poll() is None, (tmp_path / "killed.log").read_text()[-3000:]
        assert time.monotonic() < deadline, "no complete checkpoint within 120 s"
        time.sleep(0.1)
    os.killpg(procs[0].pid, signal.SIGKILL)
    assert procs[0].wait() == -signal.SIGKILL
    outlived, reaped = len(_ray_pids(ray_tmp)), _reap(ray_tmp)  # they die with their parents
    resumed_from = latest(out, "iter")
    committed = ids()
    assert committed and len(set(committed)) == len(committed) and not store.errors, store.errors

    t0 = time.time()
    procs.append(_train(tiny_model_dir, tmp_path, ray_tmp, "resumed.log", "--resume", "auto"))
    assert procs[1].wait(timeout=150) == 0, (tmp_path / "resumed.log").read_text()[-3000:]
    n = json.loads((resumed_from / "loop.json").read_text())["iteration"]
    first = out / "checkpoints" / f"iter-{n + 1:05d}" / "COMPLETE"
    recovery_s = first.stat().st_mtime - t0
    rows = [r for r in json.loads((out / "report.json").read_text())["history"] if r["kind"] == "train"]
    assert [r["iteration"] for r in rows] == [float(i) for i in range(n + 1, 4)]  # _log counts from 1

    store = TrajectoryStore(tmp_path / "store")  # a fresh reader: every part, none cached
    after = ids()
    assert not store.errors, store.errors  # every part reads: none torn
    assert len(set(after)) == len(after) and set(committed) <= set(after)
    assert len(after) == len(committed) + 4 * (3 - n)  # pool.min_batch per iteration run again
    print(
        f"trainer killed after checkpoint iter-{n:05d}, {len(committed)} trajectories committed; "
        f"Ray processes alive just after the group kill: {outlived}, left to kill after 10 s: {reaped}; "
        f"resumed from iteration {n}: first new iteration's checkpoint {recovery_s:.1f} s after the "
        f"resume started; {len(after)} trajectories after"
    )
