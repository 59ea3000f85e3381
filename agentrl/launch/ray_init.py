"""Connect to Ray: an existing cluster when an address is given (or RAY_ADDRESS is set), else a local one."""

from __future__ import annotations

import os
import socket
from typing import Literal

from agentrl.config import StrictModel


class RayConfig(StrictModel):
    address: str | None = None  # "auto", "ray://host:10001", "host:6379" or None for a local instance
    num_cpus: int | None = None  # local instance only; default: this machine's cores
    log_to_driver: bool = False  # actors' stdout in the console (noisy); their logs stay in /tmp/ray
    connect_timeout_s: float = 15.0  # how long an `address` may take to answer before ray.init is tried
    # Before any actor starts, the run's resources are compared with the cluster's (agentrl.launch.resources).
    # warn: on autoscaling clusters, where nodes join on demand and cluster_resources() shows only today's.
    resource_check: Literal["error", "warn", "off"] = "error"


def check_reachable(address: str, timeout_s: float) -> None:
    """Fail within `timeout_s` when nothing listens at a `host:port` / `ray://host:port` address (ray.init
    itself retries for minutes). "auto" and addresses without a port are left to Ray."""
    hostport = address.split("://", 1)[-1].rstrip("/")
    host, _, port = hostport.rpartition(":")
    if address == "auto" or not host or not port.isdigit():
        return
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as e:
        reason = "timed out" if isinstance(e, TimeoutError) else (e.strerror or type(e).__name__)
        raise ConnectionError(
            f"ray: cannot reach the cluster at {address} ({reason} after {timeout_s:g}s); "
            "is the head running (ray start --head) and the port open?"
        ) from None


def init_ray(cfg: RayConfig | None = None) -> None:
    import ray

    cfg = cfg or RayConfig()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, loopback-only instance
    address = cfg.address or os.environ.get("RAY_ADDRESS")
    if address:
        check_reachable(address, cfg.connect_timeout_s)
        ray.init(address=address, log_to_driver=cfg.log_to_driver)
    else:
        ray.init(
            num_cpus=cfg.num_cpus or os.cpu_count(),
            include_dashboard=False,
            log_to_driver=cfg.log_to_driver,
            configure_logging=True,
            logging_level="WARNING",
        )
