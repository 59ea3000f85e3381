"""`agentrl eval` end to end on real Ray env workers: the tiny model through the HF engine, the scripted
expert on a real MiniWoB page, and an OpenAI-compatible endpoint. The endpoint is a small local HTTP
server (a mock: a real `vllm serve` takes minutes to start on this CPU); everything else is real."""

from __future__ import annotations

import json
import shlex
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from agentrl.cli import main
from agentrl.data.store import TrajectoryStore

from .conftest import TOY

MINIWOB = "agentrl/miniwob.click-button-v0"


def cli(capsys, command: str) -> tuple[int, str, str]:
    code = main(shlex.split(command))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_model_eval_writes_results_and_resumes(ray_local, tiny_model_dir, suite_file, tmp_path, capsys):
    suite, out = suite_file([TOY, "agentrl/toy.click-sequence-v0"]), tmp_path / "ev"
    code, stdout, err = cli(capsys, f"eval --model {tiny_model_dir} --suite {suite} --episodes 2 --out {out}")
    assert code == 0, err
    result = json.loads((out / "result.json").read_text())
    assert result["suite"]["seed_start"] == 1_000_000 and result["episodes_per_task"] == 2
    for task, r in result["tasks"].items():
        assert r["episodes"] == 2 and 0 <= r["ci95"][0] <= r["success_rate"] <= r["ci95"][1] <= 1
        assert 1 <= r["mean_steps"] <= 3 and r["mean_time_s"] > 0
        assert sum(r["failures"].values()) == r["episodes"] - r["successes"]
        assert result["baselines"]["random_click"]["tasks"][task]["episodes"] == 2
        assert result["baselines"]["expert"]["tasks"][task]["success_rate"] == 1.0  # the ceiling
    md = (out / "result.md").read_text()
    assert "| toy.click-target |" in md and "random click" in md and "expert" in md
    assert (out / "success.png").stat().st_size > 1000
    store = TrajectoryStore(out / "store")
    stored = store.count()
    assert stored == 12  # 2 tasks x 2 seeds x (policy, random click, expert)
    trajs = list(store.query())
    assert {t.seed for t in trajs} == {1_000_000, 1_000_001}
    assert all(t.turns[0].policy_version == 0 for t in trajs if t.meta["run"] == "policy")

    # Resume: nothing finished is played again; more episodes add only the new seeds.
    code, stdout, err = cli(capsys, f"eval --model {tiny_model_dir} --suite {suite} --episodes 2 --out {out}")
    assert code == 0 and "played 0 episodes" in stdout, err
    code, stdout, err = cli(capsys, f"eval --model {tiny_model_dir} --suite {suite} --episodes 3 --out {out}")
    assert code == 0 and "played 6 episodes" in stdout, err  # 2 tasks x 1 new seed x 3 runs
    assert TrajectoryStore(out / "store").count() == stored + 6
    assert all(r["episodes"] == 3 for r in json.loads((out / "result.json").read_text())["tasks"].values())

    # A different policy in the same output directory is refused.
    code, _, err = cli(capsys, f"eval --policy random --model {tiny_model_dir} --suite {suite} --out {out}")
    assert code == 2 and "different policy" in err


def test_expert_on_a_miniwob_task(ray_local, tiny_model_dir, suite_file, tmp_path, capsys):
    suite, out = suite_file([MINIWOB], max_steps=4), tmp_path / "ev"
    code, _, err = cli(
        capsys,
        f"eval --policy expert --model {tiny_model_dir} --suite {suite} --baselines random_click --out {out}",
    )
    assert code == 0, err
    result = json.loads((out / "result.json").read_text())
    assert result["tasks"][MINIWOB]["success_rate"] == 1.0 and result["tasks"][MINIWOB]["mean_steps"] == 1.0
    assert result["baselines"]["random_click"]["tasks"][MINIWOB]["episodes"] == 2
    assert set(result["baselines"]) == {"random_click"}


class FakeOpenAI(BaseHTTPRequestHandler):
    """GET /v1/models and POST /v1/chat/completions; `mode` "ok" answers a click, "junk" malformed JSON."""

    mode = "ok"
    requests: list[dict] = []

    def log_message(self, *args) -> None:
        pass

    def _send(self, body: bytes) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self) -> None:
        self._send(json.dumps({"data": [{"id": "fake-vlm"}]}).encode())

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        FakeOpenAI.requests.append(body)
        if FakeOpenAI.mode == "junk":
            return self._send(b"<html>not json")
        text = "Thought: the centre.\nAction: click(start_box='(80,80)')"
        msg = {"choices": [{"message": {"content": text}, "finish_reason": "stop"}], "usage": {}}
        self._send(json.dumps(msg).encode())


@pytest.fixture
def endpoint():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_endpoint_eval_records_malformed_output_then_resumes(
    ray_local, tiny_model_dir, endpoint, suite_file, tmp_path, capsys
):
    suite, out = suite_file([TOY]), tmp_path / "ev"
    command = (
        f"eval --endpoint {endpoint} --model {tiny_model_dir} --suite {suite} --baselines none --out {out}"
    )
    FakeOpenAI.mode = "junk"
    code, _, err = cli(capsys, command)
    assert code == 0, err
    r = json.loads((out / "result.json").read_text())["tasks"][TOY]
    assert r["errors"] == 2 and r["successes"] == 0
    assert "malformed JSON" in next(iter(r["failures"]))  # recorded per episode, with the reason
    FakeOpenAI.mode, FakeOpenAI.requests = "ok", []
    code, stdout, err = cli(capsys, command)
    assert code == 0 and "played 2 episodes" in stdout, err  # the errored episodes, played again
    r = json.loads((out / "result.json").read_text())["tasks"][TOY]
    assert r["errors"] == 0 and r["episodes"] == 2  # the newest record of each seed counts
    assert FakeOpenAI.requests[0]["model"] == "fake-vlm"
    assert any(
        p["type"] == "image_url"
        for m in FakeOpenAI.requests[0]["messages"]
        if isinstance(m["content"], list)
        for p in m["content"]
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_bad_input_is_refused_before_work_starts(tiny_model_dir, suite_file, tmp_path, capsys):
    suite = suite_file([TOY])
    text_only = tmp_path / "gpt2"
    text_only.mkdir()
    (text_only / "config.json").write_text(
        json.dumps({"architectures": ["GPT2LMHeadModel"], "model_type": "gpt2"})
    )
    cases = {
        f"eval --model {text_only} --suite {suite}": "not a vision-language model (architecture GPT2LMHeadModel",
        f"eval --model {tmp_path}/missing --suite {suite}": "no config.json",
        f"eval --endpoint http://127.0.0.1:{_free_port()}/v1 --model {tiny_model_dir} --suite {suite}": "unreachable",
        f"eval --endpoint localhost:8000 --model {tiny_model_dir} --suite {suite}": "not an http(s) URL",
        f"eval --model {tiny_model_dir} --suite miniwob-esy": "did you mean 'miniwob-easy'",
        f"eval --model {tiny_model_dir}": "--suite: required",
        f"eval --suite {suite}": "give --model DIR, --endpoint URL or --policy",
        f"eval --policy oracle --model {tiny_model_dir} --suite {suite}": "--policy: unknown 'oracle'",
        f"eval --model {tiny_model_dir} --suite {suite} --episodes 0": "--episodes: must be >= 1",
        f"eval --model {tiny_model_dir} --suite {suite} --baselines best": "--baselines: unknown best",
        f"eval --policy expert --model {tiny_model_dir} --suite {suite} --set agent.max_step=3": "unknown key 'agent.max_step'",
    }
    for command, message in cases.items():
        code, _, err = cli(capsys, command + f" --out {tmp_path / 'never'}")
        assert code == 2 and message in err, (command, err)
    assert not (tmp_path / "never").exists()  # refused before anything was written


def test_best_fixed_click_baseline_is_searched_once(ray_local, tiny_model_dir, suite_file, tmp_path, capsys):
    suite, out = suite_file([TOY]), tmp_path / "ev"
    command = (
        f"eval --policy random --model {tiny_model_dir} --suite {suite} --episodes 4 --out {out} "
        "--baselines best_fixed_click --set fixed_click.grid_step=40 --set fixed_click.train_seeds=3"
    )
    code, _, err = cli(capsys, command)
    assert code == 0, err
    found = json.loads((out / "best_fixed_click.json").read_text())[TOY]
    assert found["seeds"] == [1_000_000 + i for i in range(4)] and found["train_seeds"] == 3
    fixed = json.loads((out / "result.json").read_text())["baselines"]["best_fixed_click"]["tasks"][TOY]
    assert fixed["episodes"] == 4 and fixed["successes"] == found["successes"]
    assert "best fixed click" in (out / "result.md").read_text()
    cache = json.loads((out / "best_fixed_click.json").read_text())
    cache[TOY]["successes"] = 3  # a marker: a resumed evaluation must not search again
    (out / "best_fixed_click.json").write_text(json.dumps(cache))
    code, _, err = cli(capsys, command)
    assert code == 0, err
    assert (
        json.loads((out / "result.json").read_text())["baselines"]["best_fixed_click"]["tasks"][TOY][
            "successes"
        ]
        == 3
    )
