"""Ray Jobs API: submit an agentrl command to a cluster, follow its logs, list and stop jobs.

The address is the head's dashboard (`http://HEAD:8265`), the same one `ray job submit --address` takes.
Ray's own client waits on the TCP timeout when the head is unreachable; `connect` probes `/api/version` first
with a timeout of a few seconds, so a wrong address fails fast with one line.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

# Never uploaded with the working dir (Ray also honours the directory's .gitignore).
DEFAULT_EXCLUDES = [".git", ".venv", "runs", "**/__pycache__", "*.egg-info", ".pytest_cache", ".ruff_cache"]
TERMINAL = ("SUCCEEDED", "FAILED", "STOPPED")


class ClusterError(RuntimeError):
    """The cluster cannot be reached or refused a request; one line."""


def resolve_address(address: str | None) -> str:
    """`--address`, else RAY_API_SERVER_ADDRESS, else an http RAY_ADDRESS; `HEAD:8265` gets `http://`."""
    address = (
        address
        or os.environ.get("RAY_API_SERVER_ADDRESS")
        or (os.environ.get("RAY_ADDRESS", "") if "://" in os.environ.get("RAY_ADDRESS", "") else None)
    )
    if not address:
        raise ClusterError(
            "--address: required (or set RAY_API_SERVER_ADDRESS): the head's dashboard, e.g. http://HEAD:8265"
        )
    if address.startswith("ray://"):
        raise ClusterError(
            f"--address {address}: the Jobs API is served by the dashboard, e.g. http://HEAD:8265, "
            "not by the Ray client port (ray://)"
        )
    if "://" not in address:
        address = f"http://{address}"
    if not address.startswith(("http://", "https://")):
        raise ClusterError(f"--address {address}: expected http://HOST:PORT (the head's dashboard)")
    return address.rstrip("/")


def probe(address: str, timeout_s: float = 5.0) -> str:
    """The cluster's Ray version, or ClusterError within about `timeout_s`."""
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # heads are reached directly
    try:
        with opener.open(f"{address}/api/version", timeout=timeout_s) as r:
            return str(json.loads(r.read())["ray_version"])
    except urllib.error.HTTPError as e:
        raise ClusterError(
            f"--address {address}: answered HTTP {e.code} at /api/version: not a Ray dashboard (Ray >= 2.0)?"
        ) from None
    except (urllib.error.URLError, OSError, ValueError, KeyError) as e:
        reason = getattr(e, "reason", e)
        if isinstance(reason, OSError) and reason.strerror:
            reason = reason.strerror
        if isinstance(reason, TimeoutError) or "timed out" in str(reason):
            reason = f"no answer within {timeout_s:g}s"
        raise ClusterError(
            f"--address {address}: cannot reach the Ray Jobs API ({reason}); is the head running with its "
            "dashboard reachable (ray start --head --dashboard-host=0.0.0.0)?"
        ) from None


def connect(address: str | None, timeout_s: float = 5.0) -> Any:
    """A JobSubmissionClient for a reachable cluster."""
    from ray.job_submission import JobSubmissionClient

    url = resolve_address(address)
    probe(url, timeout_s)
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    try:
        return JobSubmissionClient(url)
    except (ConnectionError, RuntimeError) as e:
        raise ClusterError(f"--address {url}: {str(e).splitlines()[0]}") from None


def runtime_env(
    working_dir: str | None,
    env_vars: dict[str, str] | None = None,
    excludes: list[str] | None = None,
) -> dict[str, Any]:
    """The job's runtime environment: the working dir uploaded (and first on PYTHONPATH), env vars set."""
    renv: dict[str, Any] = {}
    if working_dir is not None:
        wd = Path(working_dir)
        if not wd.is_dir():
            raise ClusterError(f"--working-dir: '{working_dir}' is not a directory")
        renv["working_dir"] = str(wd.resolve())
        renv["excludes"] = DEFAULT_EXCLUDES + list(excludes or [])
    if env_vars:
        renv["env_vars"] = dict(env_vars)
    return renv


def submit(
    client: Any,
    entrypoint: str,
    renv: dict[str, Any],
    submission_id: str | None = None,
    entrypoint_num_cpus: float | None = None,
    entrypoint_num_gpus: float | None = None,
) -> str:
    try:
        return client.submit_job(
            entrypoint=entrypoint,
            runtime_env=renv or None,
            submission_id=submission_id,
            entrypoint_num_cpus=entrypoint_num_cpus,
            entrypoint_num_gpus=entrypoint_num_gpus,
            metadata={"submitted_by": "agentrl submit"},
        )
    except RuntimeError as e:
        raise ClusterError(f"submit: {str(e).splitlines()[0][:300]}") from None


def follow(client: Any, job_id: str, write: Callable[[str], None]) -> str:
    """Stream the job's logs through `write` until it ends; returns its final status."""
    import asyncio

    async def tail() -> None:
        async for chunk in client.tail_job_logs(job_id):
            write(chunk)

    asyncio.run(tail())
    return status_name(client.get_job_status(job_id))


def job_info(client: Any, job_id: str) -> Any:
    try:
        return client.get_job_info(job_id)
    except RuntimeError as e:
        raise ClusterError(f"job '{job_id}': {str(e).splitlines()[0][:300]}") from None


def status_name(status: Any) -> str:
    return str(getattr(status, "value", status))
