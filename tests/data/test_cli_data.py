"""`agentrl data demos|import|export|stats|show|route` in-process, against real envs, the tiny model's
tokenizer and a real store; one run through the console script."""

from __future__ import annotations

import asyncio
import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from agentrl.cli import main
from agentrl.data.query import Query
from agentrl.data.routing import CT_POOL, SFT_POOL
from agentrl.data.store import TrajectoryStore
from rollout.trajectory import png_bytes

ROOT = Path(__file__).resolve().parents[2]
TARGET = "agentrl/toy.click-target-v0"
SEQ = "agentrl/toy.click-sequence-v0"


def cli(capsys, command: str) -> subprocess.CompletedProcess:
    args = shlex.split(command)
    code = main(args)
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


@pytest.fixture(scope="module")
def demo_store(tmp_path_factory, tiny_model_dir):
    """Made by the console script, as a user would."""
    root = tmp_path_factory.mktemp("demos") / "store"
    agentrl = str(Path(sys.executable).parent / "agentrl")
    cmd = [agentrl, "data", "demos", "--env", TARGET, "--env", SEQ, "--episodes", "4", "--store", str(root),
           "--model", str(tiny_model_dir)]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert out.returncode == 0, out.stderr
    assert "8 expert episodes, success 100.0%" in out.stdout and "sft +8, ct +0" in out.stdout
    return root


def test_demos_fill_the_sft_pool(demo_store, capsys, tiny_model_dir):
    store = TrajectoryStore(demo_store)
    trajs = list(store.query(Query(run="demos"), with_images=False))
    assert sorted((t.env_id, t.seed) for t in trajs) == sorted(
        (e, s) for e in (TARGET, SEQ) for s in range(4)
    )
    assert store.pools.ids(SFT_POOL) == {t.id for t in trajs} and all(t.success for t in trajs)
    assert all(u.policy_version == -1 and u.response_ids for t in trajs for u in t.turns)
    assert (demo_store / "manifests" / "demos.json").exists()
    again = cli(
        capsys,
        f"data demos --env {TARGET} --episodes 2 --store {demo_store} --model {tiny_model_dir} --run demos2",
    )
    assert (
        again.returncode == 0 and "sft +0, ct +0, 2 duplicates left out" in again.stdout
    )  # same seeds, same clicks


@pytest.mark.parametrize(
    ("command", "message"),
    [
        (
            "data demos --env agentrl/toy.click-targt-v0 --episodes 1",
            "--env: unknown env id 'agentrl/toy.click-targt-v0'; did you mean 'agentrl/toy.click-target-v0'",
        ),
        (f"data demos --env {TARGET} --episodes 0", "--episodes: must be >= 1, got 0"),
        (
            f"data demos --env {TARGET} --episodes 1 --model /nonexistent",
            "--model: '/nonexistent' has no config.json",
        ),
        ("data stats --store /nonexistent", "--store: '/nonexistent' is not a trajectory store"),
        ("data import /nonexistent.jsonl", "/nonexistent.jsonl: no such file"),
    ],
)
def test_usage_errors(capsys, tmp_path, command, message):
    out = cli(capsys, command + (f" --store {tmp_path}" if "--store" not in command else ""))
    assert out.returncode == 2 and message in out.stderr and len(out.stderr.strip().splitlines()) == 1


def test_demos_refuse_an_env_without_expert(capsys, tmp_path, tiny_model_dir):
    from envs.registry import EnvSpec, register, unregister

    register(
        EnvSpec(id="test/no-expert-v0", entry_point="envs.toy.click:ToyClickEnv", kind="toy", source="test")
    )
    try:
        out = cli(
            capsys,
            f"data demos --env test/no-expert-v0 --episodes 1 --store {tmp_path} --model {tiny_model_dir}",
        )
    finally:
        unregister("test/no-expert-v0")
    assert out.returncode == 2 and "'test/no-expert-v0' has no scripted expert" in out.stderr


def test_stats(demo_store, capsys):
    out = cli(capsys, f"data stats --store {demo_store} --run demos")
    assert out.returncode == 0, out.stderr
    rows = {ln.split()[0]: ln.split()[1:] for ln in out.stdout.splitlines()[2:] if ln.strip()}
    assert rows[TARGET] == ["4", "4", "100.0%", "1.00", "4"]
    assert rows[SEQ][:3] == ["4", "4", "100.0%"] and rows["all"] == ["8", "8", "100.0%"]
    assert "pools: sft 8" in out.stdout and "runs: demos" in out.stdout
    out = cli(capsys, f"data stats --store {demo_store} --pool nope")
    assert out.returncode == 2 and "--pool: no pool 'nope'" in out.stderr


def test_show_renders_one_trajectory(demo_store, capsys, tmp_path):
    store = TrajectoryStore(demo_store)
    t = next(t for t in store.query(Query(env_id=SEQ)) if t.num_steps >= 2)
    page = tmp_path / "t.html"
    out = cli(capsys, f"data show {t.id[:10]} --store {demo_store} --out {page}")
    assert out.returncode == 0, out.stderr
    html = page.read_text()
    assert t.instruction.replace('"', "&quot;") in html and html.count("<img ") == t.num_steps
    assert html.count('class="mark"') == t.num_steps  # one marker per click
    x, y = t.turns[0].action["start"]
    assert f"left:{x * 2}px;top:{y * 2}px" in html
    out = cli(capsys, f"data show zzz --store {demo_store}")
    assert out.returncode == 2 and "no trajectory" in out.stderr


def test_export_jsonl_and_import_round_trip(demo_store, capsys, tmp_path):
    out = cli(capsys, f"data export --store {demo_store} --pool {SFT_POOL} --out {tmp_path / 'x'}")
    assert out.returncode == 0, out.stderr
    lines = (tmp_path / "x" / "trajectories.jsonl").read_text().splitlines()
    assert len(lines) == 8 and all(p.suffix == ".png" for p in (tmp_path / "x" / "images").iterdir())
    new = tmp_path / "new"
    out = cli(capsys, f"data import {tmp_path / 'x' / 'trajectories.jsonl'} --store {new}")
    assert out.returncode == 0 and "imported 8 trajectories" in out.stdout
    original = {t.id: t for t in TrajectoryStore(demo_store).query(Query(pool=SFT_POOL))}
    assert {t.id: t for t in TrajectoryStore(new).query()} == original  # lossless, images included
    out = cli(capsys, f"data export --store {demo_store} --out {tmp_path / 'x'}")
    assert out.returncode == 2 and "exists and is not empty" in out.stderr
    out = cli(capsys, f"data export --store {demo_store} --task agentrl/none --out {tmp_path / 'y'}")
    assert out.returncode == 2 and "nothing to export" in out.stderr


def test_export_hf(demo_store, capsys, tmp_path):
    import datasets

    from agentrl.data.exchange import from_hf_row

    out = cli(capsys, f"data export --store {demo_store} --format hf --task {SEQ} --out {tmp_path / 'hf'}")
    assert out.returncode == 0, out.stderr
    ds = datasets.load_from_disk(str(tmp_path / "hf"))
    original = {t.id: t for t in TrajectoryStore(demo_store).query(Query(task=SEQ))}
    assert ds.num_rows == 4 and {r["id"] for r in ds} == set(original)
    assert all(from_hf_row(r) == original[r["id"]] for r in ds)


def _external_demo(tmp_path: Path, seed: int) -> dict:
    """A demonstration recorded outside agentrl: screenshots as files, the expert's responses as text."""
    import envs

    env = envs.make(SEQ, sequence=(3,))
    obs, info = env.reset(seed=seed)
    steps = []
    for k in range(10):
        shot = tmp_path / "shots" / f"{seed}-{k}.png"
        shot.parent.mkdir(exist_ok=True)
        shot.write_bytes(png_bytes(obs["screenshot"]))
        response = env.unwrapped.expert_action()
        steps.append({"screenshot": f"shots/{shot.name}", "response": response, "elements": info["elements"]})
        obs, reward, term, trunc, info = env.step(response)
        if term or trunc:
            break
    env.close()
    return {
        "env_id": SEQ,
        "seed": seed,
        "instruction": obs["instruction"],
        "success": reward > 0,
        "steps": steps,
    }


def test_import_external_demos_matches_rollout_prompts(capsys, tmp_path, tiny_model_dir, tiny_tokenizer):
    """Demonstrations without token ids are tokenised exactly as a rollout of the same episode."""
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import ExpertEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    demos = [_external_demo(tmp_path, s) for s in (1, 2)]
    (tmp_path / "demos.jsonl").write_text("".join(json.dumps(d) + "\n" for d in demos))
    store = tmp_path / "store"
    out = cli(capsys, f"data import {tmp_path / 'demos.jsonl'} --store {store} --model {tiny_model_dir}")
    assert out.returncode == 0, out.stderr
    imported = sorted(TrajectoryStore(store).query(), key=lambda t: t.seed)

    async def rollouts():
        env = LocalEnv({"sequence": (3,)})
        try:
            return [
                await run_episode(ExpertEngine(tiny_tokenizer), env, tiny_tokenizer, AgentConfig(), SEQ, s)
                for s in (1, 2)
            ]
        finally:
            env.close()

    for got, ref in zip(imported, asyncio.run(rollouts())):
        assert got.success and got.num_steps == ref.num_steps == 3
        assert [u.prompt_ids for u in got.turns] == [u.prompt_ids for u in ref.turns]
        assert [u.response_ids for u in got.turns] == [u.response_ids for u in ref.turns]
        assert [u.action for u in got.turns] == [u.action for u in ref.turns]
        assert got.images.keys() == ref.images.keys()
    assert TrajectoryStore(store).pools.ids(SFT_POOL) == {t.id for t in imported}
    out = cli(capsys, f"data import {tmp_path / 'demos.jsonl'} --store {store}")
    assert (
        out.returncode == 2
        and "demos.jsonl:1: a demonstration without token ids needs the policy's tokenizer" in out.stderr
    )


def test_import_names_the_bad_line_and_file(capsys, tmp_path, tiny_model_dir):
    demo = _external_demo(tmp_path, 3)
    bad = dict(demo, steps=[dict(demo["steps"][0], screenshot="shots/missing.png")])
    f = tmp_path / "bad.jsonl"
    f.write_text(json.dumps(demo) + "\n" + json.dumps(bad) + "\n")
    store = tmp_path / "store"
    out = cli(capsys, f"data import {f} --store {store} --model {tiny_model_dir}")
    assert (
        out.returncode == 2
        and f"{f}:2: image file {tmp_path / 'shots' / 'missing.png'} is missing" in out.stderr
    )
    assert not (store / "parts").exists() or TrajectoryStore(store).count() == 0  # nothing half-imported
    f.write_text("{not json\n")
    out = cli(capsys, f"data import {f} --store {store}")
    assert out.returncode == 2 and f"{f}:1: not JSON" in out.stderr
    f.write_text('{"id": "x"}\n')
    out = cli(capsys, f"data import {f} --store {store}")
    assert out.returncode == 2 and f"{f}:1: not a trajectory (KeyError" in out.stderr


def test_route_command(capsys, tmp_path, tiny_tokenizer):
    from rollout.agent import AgentConfig
    from rollout.engines.scripted import RandomClickEngine
    from rollout.episode import run_episode
    from rollout.local_env import LocalEnv

    async def play():
        env = LocalEnv()
        try:
            eng = RandomClickEngine(tiny_tokenizer, seed=5)
            return [await run_episode(eng, env, tiny_tokenizer, AgentConfig(), TARGET, s) for s in range(8)]
        finally:
            env.close()

    trajs = asyncio.run(play())
    store = TrajectoryStore(tmp_path)
    store.write(trajs, "rollout", 0)
    out = cli(capsys, f"data route --store {tmp_path}")
    wins = sum(t.success for t in trajs)
    assert out.returncode == 0 and f"sft +{wins}, ct +{8 - wins - int(out.stdout.split()[-4])}" in out.stdout
    assert store.pools.ids(SFT_POOL) == {t.id for t in trajs if t.success}
    assert store.pools.ids(CT_POOL) <= {t.id for t in trajs if not t.success}
