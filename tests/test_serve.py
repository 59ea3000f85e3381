"""`agentrl serve`: the refusals (no server needed), the server's flags against the engine args VLLMEngine
uses, weight pushes through a fake server's routes, and one real server of the tiny model (slow: it starts
in 20-35 s on 2 cores) that `agentrl eval --endpoint` plays and that answers greedy prompts token for token
as VLLMEngine does, before and after a weight push."""

from __future__ import annotations

import asyncio
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest
import yaml
from PIL import Image

from agentrl.cli import main
from rollout.engines.base import EngineError, GenerationRequest, SamplingConfig
from rollout.engines.config import EngineConfig

REPO = Path(__file__).resolve().parents[1]
TASKS = ["agentrl/toy.click-target-v0", "agentrl/toy.click-sequence-v0"]
ENGINE_KEYS = ["gpu_memory_utilization=0.1", "max_model_len=2048"]  # the server's and VLLMEngine's


def cli(capsys, command: str) -> tuple[int, str, str]:
    code = main(shlex.split(command))
    out = capsys.readouterr()
    return code, out.out, out.err


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_serve_refuses_what_it_cannot_serve_before_starting(tiny_model_dir, tmp_path, capsys, monkeypatch):
    import agentrl.cli.serve

    monkeypatch.setattr(agentrl.cli.serve, "_start", lambda *a: pytest.fail("a server started"))
    text_only = tmp_path / "gpt2"
    text_only.mkdir()
    (text_only / "config.json").write_text(json.dumps({"architectures": ["GPT2LMHeadModel"]}))
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    cases = {
        f"serve {text_only}": "not a vision-language model (architecture GPT2LMHeadModel",
        f"serve {tmp_path}/none": f"MODEL_DIR: '{tmp_path}/none' is not a model directory",
        f"serve {tiny_model_dir} --port {port}": f"--port: 127.0.0.1:{port} is not free",
        f"serve {tiny_model_dir} --port 70000": "--port: 70000 is not a port number",
        f"serve {tiny_model_dir} --port 8000 max_batch_size=4": "max_batch_size: not a vLLM engine setting",
        f"serve {tiny_model_dir} max_model_len=long": "max_model_len",
    }
    try:
        for command, message in cases.items():
            code, _, err = cli(capsys, command)
            assert code == 2 and message in err and len(err.strip().splitlines()) == 1, (command, err)
    finally:
        busy.close()
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` raises ImportError
    code, _, err = cli(capsys, f"serve {tiny_model_dir} --port {_free_port()}")
    assert code == 2 and "vLLM is not importable (ModuleNotFoundError" in err, err


def test_server_flags_parse_back_to_the_engine_args_vllm_engine_uses(tiny_model_dir):
    from vllm import AsyncEngineArgs
    from vllm.entrypoints.launchers.cli_args import make_arg_parser
    from vllm.utils.argparse_utils import FlexibleArgumentParser

    from rollout.engines.vllm import engine_launch

    cfg = EngineConfig(model=str(tiny_model_dir), max_model_len=2048)
    launch = engine_launch(cfg.model, **cfg.vllm_options())
    cmd = launch.server_command("127.0.0.1", 8123, "tiny")
    assert cmd[1:3] == ["-m", "vllm.entrypoints.openai.api_server"]
    ns = make_arg_parser(FlexibleArgumentParser()).parse_args(cmd[3:])
    parsed = AsyncEngineArgs.from_cli_args(ns)
    assert {k: getattr(parsed, k) for k in launch.args} == launch.args
    assert (ns.host, ns.port, ns.served_model_name) == ("127.0.0.1", 8123, ["tiny"])
    assert launch.args["dtype"] == "float32" and launch.args["max_num_batched_tokens"] == 32768  # CPU
    assert launch.env["VLLM_ENABLE_V1_MULTIPROCESSING"] == "0" and launch.env["OMP_NUM_THREADS"] == "1"


class Routes(BaseHTTPRequestHandler):
    """Records POSTed routes and bodies; answers 200, or 404 when `missing` (a server without dev routes)."""

    missing = False
    seen: list[tuple[str, dict]] = []

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        if body.get("method") == "agentrl_load_weights":
            body["files"] = sorted(p.name for p in Path(body["args"][0]).iterdir())  # there during the call
        Routes.seen.append((self.path, body))
        self.send_response(404 if Routes.missing else 200)
        self.send_header("Content-Length", "0")
        self.end_headers()


@pytest.fixture
def routes():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Routes)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Routes.seen, Routes.missing = [], False
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_the_endpoint_engine_pushes_weights_as_vllm_engine_does(tiny_model_dir, routes):
    import torch

    from rollout.engines.factory import make_engine

    engine = make_engine(EngineConfig(kind="openai", model=str(tiny_model_dir), endpoint=routes))
    assert engine.limits["logit_bias"] and set(engine.limits["logit_bias"].values()) == {-100.0}
    asyncio.run(engine.update_weights({"model.embed_tokens.weight": torch.zeros(4, 2)}, version=3))
    assert [path for path, _ in Routes.seen] == [
        "/pause?mode=wait",
        "/collective_rpc",
        "/reset_prefix_cache",
        "/reset_encoder_cache",
        "/reset_mm_cache",
        "/resume",
    ]
    assert Routes.seen[1][1]["files"] == ["model.safetensors"] and engine.version == 3
    assert not Path(Routes.seen[1][1]["args"][0]).exists()  # the pushed file is gone afterwards
    Routes.missing = True
    with pytest.raises(
        EngineError,
        match="cannot take weights: .*`agentrl serve --weight-updates`, or give PPO engine kind hf or vllm",
    ):
        asyncio.run(engine.update_weights(tiny_model_dir, version=4))
    assert engine.version == 3


@pytest.fixture(scope="module")
def served(tiny_model_dir, tmp_path_factory):
    """`agentrl serve` of the tiny model in a child process: (base URL, start time in s). Stopped with
    SIGINT (Ctrl-C) afterwards, which must end it and its vLLM server with exit code 130."""
    port = _free_port()
    log = tmp_path_factory.mktemp("serve") / "serve.log"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), os.environ.get("PYTHONPATH", "")])}
    cmd = [
        sys.executable,
        "-m",
        "agentrl",
        "serve",
        str(tiny_model_dir),
        "--port",
        str(port),
        "--weight-updates",
    ]
    cmd += ENGINE_KEYS
    t0 = time.perf_counter()
    with open(log, "wb") as out:
        proc = subprocess.Popen(cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        while "ready in" not in log.read_text():
            assert proc.poll() is None and time.perf_counter() - t0 < 600, log.read_text()[-3000:]
            time.sleep(1.0)
        started_s = time.perf_counter() - t0
        print(f"agentrl serve answered after {started_s:.1f}s")
        yield url, started_s
    finally:
        proc.send_signal(signal.SIGINT)
        try:
            code = proc.wait(timeout=180)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)  # leave no server behind for the tests that follow
            pytest.fail(f"agentrl serve did not exit within 180 s of SIGINT: {log.read_text()[-2000:]}")
    assert code == 130, log.read_text()[-3000:]
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0  # the vLLM server is gone too


def _suite(tmp_path: Path, episodes: int) -> Path:
    path = tmp_path / "suite.yaml"
    path.write_text(
        yaml.safe_dump({"name": "serve-test", "tasks": TASKS, "episodes_per_task": episodes, "max_steps": 3})
    )
    return path


@pytest.mark.slow
@pytest.mark.vllm
def test_endpoint_eval_matches_the_in_process_eval(served, ray_local, tiny_model_dir, tmp_path, capsys):
    from agentrl.data.store import TrajectoryStore

    url, _ = served
    suite = _suite(tmp_path, episodes=4)
    results = {}
    for name, policy in {"endpoint": f"--endpoint {url}", "model": ""}.items():
        out = tmp_path / name
        code, _, err = cli(
            capsys, f"eval {policy} --model {tiny_model_dir} --suite {suite} --baselines none --out {out}"
        )
        assert code == 0, err
        results[name] = json.loads((out / "result.json").read_text())["tasks"]
    for task in TASKS:
        endpoint, model = results["endpoint"][task], results["model"][task]
        assert endpoint["episodes"] == model["episodes"] == 4 and endpoint["errors"] == 0
        lo, hi = model["ci95"]
        print(
            f"{task}: endpoint {endpoint['success_rate']:.2f}, in-process {model['success_rate']:.2f} [{lo:.2f}, {hi:.2f}]"
        )
        assert lo <= endpoint["success_rate"] <= hi, (task, endpoint, model)
    turns = [t for traj in TrajectoryStore(tmp_path / "endpoint" / "store").query() for t in traj.turns]
    assert turns and all(len(t.response_ids) == len(t.logprobs) > 0 for t in turns)  # ids through the API


def _requests(tokenizer) -> list[GenerationRequest]:
    from rollout.prompt import SYSTEM_PROMPTS, PromptBuilder

    requests = []
    for i, task in enumerate(["Click OK.", "Select the second item.", "Type hello.", "Close the dialog."]):
        b = PromptBuilder(tokenizer)
        b.set_system(SYSTEM_PROMPTS["compact"])
        b.add_observation(f"Task: {task}\n", "\nElements: [1] button OK (40,60)", "s0", f"Task: {task}")
        ids, _ = b.render()
        image = Image.fromarray(np.random.RandomState(i).randint(0, 255, (210, 160, 3), dtype=np.uint8))
        greedy = SamplingConfig(max_tokens=24, temperature=0)
        requests.append(GenerationRequest(ids, [image], greedy, messages=b.render_messages()))
    return requests


def _perturbed(model_dir: Path) -> dict:
    import torch

    from agentrl.models.loading import load_model

    g = torch.Generator().manual_seed(1)
    sd = load_model(model_dir).state_dict()
    return {k: v + 0.05 * torch.randn(v.shape, generator=g) for k, v in sd.items() if k != "lm_head.weight"}


def _assert_same(local, remote) -> None:
    for a, b in zip(local, remote, strict=True):
        assert b.token_ids == a.token_ids and len(a.token_ids) > 0
        assert b.text == a.text and b.finish_reason == a.finish_reason
        assert b.prompt_tokens == a.prompt_tokens  # the server's chat template gives agentrl's prompt
        assert np.allclose(b.logprobs, a.logprobs, atol=1e-4)


@pytest.mark.slow
@pytest.mark.vllm
def test_endpoint_answers_greedy_prompts_as_vllm_engine_does_before_and_after_a_push(served, tiny_model_dir):
    from agentrl.config import load_config
    from rollout.engines.factory import make_engine
    from rollout.engines.vllm import VLLMEngine

    url, _ = served
    endpoint = make_engine(EngineConfig(kind="openai", model=str(tiny_model_dir), endpoint=url))
    cfg = load_config(EngineConfig, None, [*ENGINE_KEYS, f"model={tiny_model_dir}"])
    weights = _perturbed(tiny_model_dir)

    async def both(engine, requests):
        return [await engine.generate(r) for r in requests], [await endpoint.generate(r) for r in requests]

    async def run():
        engine = VLLMEngine(cfg.model, **cfg.vllm_options())
        try:
            requests = _requests(engine.tokenizer)
            before = await both(engine, requests)
            await engine.update_weights(weights, version=1)
            await endpoint.update_weights(weights, version=1)
            after = await both(engine, requests)
        finally:
            await engine.shutdown()
        await endpoint.update_weights(tiny_model_dir, version=2)  # the checkpoint again, pushed by path
        restored = [await endpoint.generate(r) for r in requests]
        return before, after, restored

    before, after, restored = asyncio.run(run())
    _assert_same(*before)
    _assert_same(*after)
    _assert_same(before[0], restored)
    assert [r.token_ids for r in after[1]] != [r.token_ids for r in before[1]]
    assert after[1][0].policy_version == 1 and restored[0].policy_version == 2
    with urllib.request.urlopen(url + "/models", timeout=5) as resp:
        assert json.loads(resp.read())["data"][0]["id"] == str(tiny_model_dir)
