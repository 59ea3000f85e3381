"""Bad addresses fail fast with one line: a closed port, a port that accepts but never answers, a Ray client
address given to the Jobs API. Only loopback sockets opened here."""

from __future__ import annotations

import socket

import pytest

from agentrl.cli import main
from agentrl.launch import jobs
from agentrl.launch.ray_init import check_reachable


@pytest.fixture
def closed_port() -> int:
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


@pytest.fixture
def silent_port():
    """A listener that completes TCP handshakes (kernel backlog) but never reads or answers."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(8)
    yield s.getsockname()[1]
    s.close()


def test_resolve_address(monkeypatch):
    monkeypatch.delenv("RAY_API_SERVER_ADDRESS", raising=False)
    monkeypatch.delenv("RAY_ADDRESS", raising=False)
    assert jobs.resolve_address("head:8265") == "http://head:8265"
    assert jobs.resolve_address("https://head:8265/") == "https://head:8265"
    with pytest.raises(jobs.ClusterError, match="--address: required"):
        jobs.resolve_address(None)
    with pytest.raises(jobs.ClusterError, match="not by the Ray client port"):
        jobs.resolve_address("ray://head:10001")
    monkeypatch.setenv("RAY_ADDRESS", "10.0.0.1:6379")  # a GCS address: not for the Jobs API
    with pytest.raises(jobs.ClusterError, match="--address: required"):
        jobs.resolve_address(None)
    monkeypatch.setenv("RAY_API_SERVER_ADDRESS", "http://head:8265")
    assert jobs.resolve_address(None) == "http://head:8265"


def test_closed_port_is_refused_at_once(closed_port, capsys):
    rc = main(["submit", "--address", f"127.0.0.1:{closed_port}", "--", "agentrl", "version"])
    err = capsys.readouterr().err
    assert rc == 2 and "cannot reach the Ray Jobs API (Connection refused)" in err and err.count("\n") == 1
    with pytest.raises(ConnectionError, match="cannot reach the cluster .*Connection refused"):
        check_reachable(f"ray://127.0.0.1:{closed_port}", 2.0)


def test_silent_port_gives_up_after_the_timeout(silent_port, capsys):
    rc = main(["jobs", "list", "--address", f"http://127.0.0.1:{silent_port}", "--connect-timeout-s", "1"])
    assert rc == 2 and "no answer within 1s" in capsys.readouterr().err


def test_submit_usage_errors(capsys):
    assert main(["submit", "--address", "http://127.0.0.1:1"]) == 2
    assert "no command" in capsys.readouterr().err
    assert main(["submit", "--address", "http://127.0.0.1:1", "--env", "NOEQUALS", "--", "true"]) == 2
    assert "--env 'NOEQUALS': expected KEY=VALUE" in capsys.readouterr().err
    assert main(["submit", "--address", "http://127.0.0.1:1", "--working-dir", "/no/such", "--", "true"]) == 2
    assert "is not a directory" in capsys.readouterr().err
