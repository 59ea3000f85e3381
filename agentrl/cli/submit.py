"""`agentrl submit --address http://HEAD:8265 -- <command>`: run an agentrl command on a Ray cluster.

The command runs as a Ray job: the working dir (default: here) is uploaded and put first on PYTHONPATH, so
the cluster runs the code and configs you have; `--env KEY=VALUE` sets variables. Logs follow until the job
ends; its status decides the exit code. The same job can be sent with plain Ray:

    ray job submit --address http://HEAD:8265 --working-dir . -- agentrl train ppo --config ...
"""

from __future__ import annotations

import argparse
import shlex
import sys

from agentrl.cli import UsageError, console, err_console
from agentrl.launch import jobs


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "submit",
        help="run an agentrl command on a Ray cluster (Ray Jobs API) and follow its logs",
        description="agentrl submit --address http://HEAD:8265 -- agentrl train ppo --config CONFIG",
    )
    add_address_arg(p)
    p.add_argument("--working-dir", default=".", help="directory uploaded with the job (default: .)")
    p.add_argument("--no-working-dir", action="store_true", help="upload nothing: the image has the code")
    p.add_argument("--exclude", action="append", default=[], metavar="PATTERN", help="also not uploaded")
    p.add_argument("--env", action="append", default=[], metavar="KEY=VALUE", help="environment variable")
    p.add_argument("--job-id", default=None, help="submission id (default: Ray picks one)")
    p.add_argument("--entrypoint-num-cpus", type=float, default=None, help="CPUs reserved for the driver")
    p.add_argument("--entrypoint-num-gpus", type=float, default=None, help="GPUs reserved for the driver")
    p.add_argument("--no-wait", action="store_true", help="print the job id and return at once")
    p.add_argument("command", nargs=argparse.REMAINDER, metavar="-- COMMAND", help="what the job runs")
    p.set_defaults(func=cmd_submit)


def add_address_arg(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--address", default=None, help="the head's dashboard, http://HEAD:8265 (or RAY_API_SERVER_ADDRESS)"
    )
    p.add_argument(
        "--connect-timeout-s", type=float, default=5.0, help="give up reaching the head after this"
    )


def parse_env(items: list[str]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--env '{item}': expected KEY=VALUE")
        out[key] = value
    return out


def client_for(args: argparse.Namespace):
    try:
        return jobs.connect(args.address, args.connect_timeout_s)
    except jobs.ClusterError as e:
        raise UsageError(str(e)) from None


def cmd_submit(args: argparse.Namespace) -> int:
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        raise UsageError(
            "submit: no command; e.g. agentrl submit --address URL -- agentrl train ppo --config C"
        )
    try:
        renv = jobs.runtime_env(
            None if args.no_working_dir else args.working_dir, parse_env(args.env), args.exclude
        )
    except jobs.ClusterError as e:
        raise UsageError(str(e)) from None
    client = client_for(args)
    entrypoint = shlex.join(command)
    try:
        job_id = jobs.submit(
            client, entrypoint, renv, args.job_id, args.entrypoint_num_cpus, args.entrypoint_num_gpus
        )
    except jobs.ClusterError as e:
        raise UsageError(str(e)) from None
    console.print(f"submitted [bold]{job_id}[/]: {entrypoint}")
    if args.no_wait:
        return 0
    try:
        status = jobs.follow(client, job_id, lambda s: (sys.stdout.write(s), sys.stdout.flush()))
    except KeyboardInterrupt:
        err_console.print(f"[yellow]stopped following; the job runs on[/]: agentrl jobs stop {job_id}")
        return 130
    message = jobs.job_info(client, job_id).message or ""
    style = "green" if status == "SUCCEEDED" else "red"
    console.print(f"job {job_id}: [{style}]{status}[/] {message}".rstrip())
    return 0 if status == "SUCCEEDED" else 1
