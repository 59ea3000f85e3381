"""Connect to Ray: an existing cluster when an address is given (or RAY_ADDRESS is set), else a local one."""

from __future__ import annotations

import os
import time

from agentrl.config import StrictModel


class RayConfig(StrictModel):
    address: str | None = None  # "auto", "ray://host:10001" or None for a local instance
    num_cpus: int | None = None  # local instance only; default: this machine's cores
    log_to_driver: bool = False  # actors' stdout in the console (noisy); their logs stay in /tmp/ray
    connect_timeout_s: float = 15.0


def init_ray(cfg: RayConfig | None = None) -> None:
    import ray

    cfg = cfg or RayConfig()
    if ray.is_initialized():
        return
    os.environ.setdefault("RAY_DEDUP_LOGS", "1")
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")  # a local, loopback-only instance
    address = cfg.address or os.environ.get("RAY_ADDRESS")
    t0 = time.perf_counter()
    if address:
        ray.init(address=address, log_to_driver=cfg.log_to_driver)
    else:
        ray.init(
            num_cpus=cfg.num_cpus or os.cpu_count(),
            include_dashboard=False,
            log_to_driver=cfg.log_to_driver,
            configure_logging=True,
            logging_level="WARNING",
        )
    if time.perf_counter() - t0 > cfg.connect_timeout_s:
        raise RuntimeError(f"ray: connecting took more than {cfg.connect_timeout_s:g}s")
