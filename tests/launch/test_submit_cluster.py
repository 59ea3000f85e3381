"""`agentrl submit` and `agentrl jobs` against a real Ray head started here (`ray start --head` on loopback,
its own temp dir and ports; not the session's ray_local instance). The head is always stopped, by the ids of
the processes it started, never by name."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import psutil
import pytest

from agentrl.cli import main
from agentrl.launch import jobs

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_ports(n: int) -> list[int]:
    socks = [socket.socket() for _ in range(n)]
    for s in socks:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


def _stop_head(proc: subprocess.Popen, temp_dir: str) -> None:
    """SIGTERM to `ray start --block` (it stops its services), then kill whatever of ours is left: the
    processes it started, and any process whose command line names our unique temp dir."""
    ours: list[psutil.Process] = []
    with contextlib.suppress(psutil.NoSuchProcess):
        ours = psutil.Process(proc.pid).children(recursive=True)
    ours += [
        p for p in psutil.process_iter(["cmdline"]) if any(temp_dir in a for a in p.info["cmdline"] or [])
    ]
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
    for p in ours:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.terminate()
    _, alive = psutil.wait_procs(ours, timeout=10)
    for p in alive:
        with contextlib.suppress(psutil.NoSuchProcess):
            p.kill()


@pytest.fixture(scope="module")
def ray_head():
    temp_dir = tempfile.mkdtemp(prefix="arl-", dir="/tmp")  # short: Ray's unix sockets live below it
    gcs, dash, agent_http, agent_grpc, renv_agent, node_mgr, obj_mgr, metrics, client, *workers = _free_ports(
        9 + 8
    )
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ADDRESS", "RAY_API_SERVER_ADDRESS")}
    env.update(PATH=f"{BIN}{os.pathsep}{env.get('PATH', '')}", RAY_AUTH_MODE="disabled",
               RAY_USAGE_STATS_ENABLED="0")  # fmt: skip
    cmd = [
        str(BIN / "ray"), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={gcs}",
        "--include-dashboard=true", "--dashboard-host=127.0.0.1", f"--dashboard-port={dash}",
        f"--dashboard-agent-listen-port={agent_http}", f"--dashboard-agent-grpc-port={agent_grpc}",
        f"--runtime-env-agent-port={renv_agent}", f"--node-manager-port={node_mgr}",
        f"--object-manager-port={obj_mgr}", f"--metrics-export-port={metrics}",
        f"--ray-client-server-port={client}", f"--worker-port-list={','.join(map(str, workers))}",
        "--num-cpus=1", "--object-store-memory=100000000", f"--temp-dir={temp_dir}", "--disable-usage-stats",
    ]  # fmt: skip
    log = open(Path(temp_dir) / "ray-start.log", "w")  # noqa: SIM115 (closed in finally)
    proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{dash}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                jobs.probe(url, timeout_s=2)
                break
            except jobs.ClusterError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    log.flush()
                    tail = (Path(temp_dir) / "ray-start.log").read_text()[-2000:]
                    pytest.fail(f"ray head did not come up (rc {proc.poll()}):\n{tail}")
                time.sleep(1)
        yield url
    finally:
        _stop_head(proc, temp_dir)
        log.close()
        shutil.rmtree(temp_dir, ignore_errors=True)


def test_submit_runs_the_submitted_code_with_env_and_follows_logs(ray_head, capsys):
    script = (
        "agentrl version && python -c 'import os, agentrl; "
        'print("code:", agentrl.__file__); print("env:", os.environ["AGENTRL_SUBMIT_CHECK"])\''
    )
    rc = main(["submit", "--address", ray_head, "--working-dir", str(REPO), "--env", "AGENTRL_SUBMIT_CHECK=hello",
               "--job-id", "arl-ok", "--", "bash", "-c", script])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 0, out
    assert "agentrl 0.1.0" in out and "env: hello" in out and "SUCCEEDED" in out
    code = next(line for line in out.splitlines() if line.startswith("code:")).split(": ", 1)[1]
    assert not code.startswith(str(REPO)) and "working_dir_files" in code  # the uploaded copy ran

    assert main(["jobs", "list", "--address", ray_head]) == 0
    listing = capsys.readouterr().out
    assert "arl-ok" in listing and "SUCCEEDED" in listing
    assert main(["jobs", "logs", "arl-ok", "--address", ray_head]) == 0
    assert "env: hello" in capsys.readouterr().out


def test_a_failing_job_exits_nonzero(ray_head, capsys):
    rc = main(["submit", "--address", ray_head, "--no-working-dir", "--job-id", "arl-fail", "--",
               "python", "-c", "import sys; print('bye'); sys.exit(3)"])  # fmt: skip
    out = capsys.readouterr().out
    assert rc == 1 and "bye" in out and "FAILED" in out


def test_jobs_stop_and_unknown_ids(ray_head, capsys):
    assert main(["submit", "--address", ray_head, "--no-working-dir", "--no-wait", "--job-id", "arl-sleep", "--",
                 "sleep", "300"]) == 0  # fmt: skip
    assert main(["jobs", "stop", "arl-sleep", "--address", ray_head]) == 0
    assert "STOPPED" in capsys.readouterr().out
    assert main(["jobs", "status", "arl-sleep", "--address", ray_head]) == 0
    assert "STOPPED" in capsys.readouterr().out
    assert main(["jobs", "logs", "no-such-job", "--address", ray_head]) == 2
    assert "no-such-job" in capsys.readouterr().err


def test_plain_ray_job_submit_runs_agentrl_too(ray_head):
    env = {
        **os.environ,
        "RAY_AUTH_MODE": "disabled",
        "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    r = subprocess.run([str(BIN / "ray"), "job", "submit", "--address", ray_head, "--submission-id", "arl-plain",
                        "--working-dir", str(REPO), "--", "agentrl", "version"],
                       capture_output=True, text=True, timeout=180, env=env)  # fmt: skip
    client = jobs.connect(ray_head)
    detail = f"{r.returncode}\n{r.stdout[-2000:]}\n{r.stderr[-2000:]}"
    assert jobs.status_name(client.get_job_status("arl-plain")) == "SUCCEEDED", detail
    assert "agentrl 0.1.0" in client.get_job_logs("arl-plain"), detail
    assert r.returncode == 0, detail
