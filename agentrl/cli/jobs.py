"""`agentrl jobs list|status|logs|stop`: the jobs of a Ray cluster (Ray Jobs API), by submission id."""

from __future__ import annotations

import argparse
import sys
import time

from rich.table import Table

from agentrl.cli import UsageError, add_config_args, console
from agentrl.cli.submit import add_address_arg, client_for
from agentrl.launch import jobs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("jobs", help="list, inspect and stop jobs on a Ray cluster")
    jsub = p.add_subparsers(dest="jobs_command", metavar="ACTION", required=True)
    q = jsub.add_parser("list", help="every job the cluster knows, newest first")
    add_address_arg(q)
    q.set_defaults(func=cmd_list)
    for name, func, help_ in (
        ("status", cmd_status, "a job's status and message"),
        ("logs", cmd_logs, "a job's logs (--follow: until it ends)"),
        ("stop", cmd_stop, "stop a running job"),
    ):
        q = jsub.add_parser(name, help=help_)
        add_address_arg(q)
        q.add_argument("job_id")
        if name == "logs":
            q.add_argument("--follow", "-f", action="store_true")
        if name == "stop":
            q.add_argument("--no-wait", action="store_true", help="do not wait for it to end")
        q.set_defaults(func=func)
    q = jsub.add_parser(
        "fit", help="check a run config's resources against a cluster file (ray up / KubeRay)"
    )
    q.add_argument("--kind", choices=("ppo", "sft", "ct"), default="ppo", help="what the config runs")
    q.add_argument("--cluster", required=True, help="configs/cluster/ray-cluster.yaml or a RayJob manifest")
    add_config_args(q)
    q.set_defaults(func=cmd_fit)


def _when(ms: int | None) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(ms / 1000)) if ms else "-"


def cmd_list(args: argparse.Namespace) -> int:
    client = client_for(args)
    found = sorted(client.list_jobs(), key=lambda j: j.start_time or 0, reverse=True)
    table = Table("job", "status", "started", "duration", "entrypoint")
    for j in found:
        end = j.end_time or (time.time() * 1000 if j.start_time else None)
        dur = f"{(end - j.start_time) / 1000:.0f}s" if j.start_time and end else "-"
        table.add_row(j.submission_id or j.job_id or "-", jobs.status_name(j.status), _when(j.start_time),
                      dur, j.entrypoint[:80])  # fmt: skip
    console.print(table if found else "no jobs")
    return 0


def _info(client, job_id: str):
    try:
        return jobs.job_info(client, job_id)
    except jobs.ClusterError as e:
        raise UsageError(f"{e} (agentrl jobs list shows the ids)") from None


def cmd_status(args: argparse.Namespace) -> int:
    info = _info(client_for(args), args.job_id)
    console.print(f"{args.job_id}: {jobs.status_name(info.status)} {info.message or ''}".rstrip())
    return 0


def cmd_logs(args: argparse.Namespace) -> int:
    client = client_for(args)
    _info(client, args.job_id)
    if not args.follow:
        sys.stdout.write(client.get_job_logs(args.job_id))
        return 0
    status = jobs.follow(client, args.job_id, lambda s: (sys.stdout.write(s), sys.stdout.flush()))
    return 0 if status == "SUCCEEDED" else 1


def cmd_stop(args: argparse.Namespace) -> int:
    client = client_for(args)
    info = _info(client, args.job_id)
    status = jobs.status_name(info.status)
    if status in jobs.TERMINAL:
        console.print(f"{args.job_id}: already {status}")
        return 0
    client.stop_job(args.job_id)
    while not args.no_wait and status not in jobs.TERMINAL:
        time.sleep(0.5)
        status = jobs.status_name(client.get_job_status(args.job_id))
    console.print(f"{args.job_id}: {status if not args.no_wait else 'stop requested'}")
    return 0


def cmd_fit(args: argparse.Namespace) -> int:
    """Demands of the run beside the cluster file's capacity; ResourceError (exit 2) when it does not fit."""
    from agentrl.config import load_config
    from agentrl.launch import resources
    from agentrl.launch.cluster_files import capacity_of

    if args.kind == "ppo":
        from agentrl.train.ppo.config import PPOConfig
        from agentrl.train.ppo.placement import ppo_demand

        demands = ppo_demand(load_config(PPOConfig, args.config, args.overrides))
    else:
        from agentrl.train.sft import SFTConfig, sft_demand

        demands = sft_demand(load_config(SFTConfig, args.config, args.overrides))
    capacity = capacity_of(args.cluster)
    table = Table("actors", "count", "CPU each", "GPU each", "memory floor each")
    for d in demands:
        table.add_row(
            d.name, str(d.count), f"{d.cpus:g}", f"{d.gpus:g}", f"{d.memory_bytes / resources.GiB:.1f} GiB"
        )
    asked = resources.summary(demands)
    table.add_row(
        "[bold]total[/]",
        "",
        f"{asked['CPU']:g}",
        f"{asked['GPU']:g}",
        f"{asked['memory'] / resources.GiB:.1f} GiB",
    )
    console.print(table)
    have = capacity.totals
    console.print(
        f"{capacity.source}: {have.get('CPU', 0):g} CPU, {have.get('GPU', 0):g} GPU on {len(capacity.nodes)} nodes"
    )
    resources.check(demands, capacity)
    console.print("[green]fits[/]")
    return 0
