"""The GUI+SDK hybrid action (UI-TARS-2): `shell(command='...')` run inside the episode's sandbox.

The command runs under /bin/sh with the episode HOME as working directory and HOME, a clean environment
(no DISPLAY), a wall-clock limit (the whole process group is killed), and its output (stdout and stderr
together) truncated and returned as feedback text for the next observation. It shares the filesystem
with the GUI apps, so a file it writes shows up in the file manager.

Isolation, the best this machine allows (probed once):
  - "netns": as root, `unshare --net --mount`: no network (only a down loopback) and the side-channel
    directory hidden under an empty tmpfs;
  - "userns": as another user where unprivileged user namespaces work, the same inside a user namespace;
  - "none": neither works; the command runs with the network and can see the side channel. Envs report
    the mode in `shell_isolation` (the first shell step's info), so a run can refuse it.
It is hygiene for training, not a security boundary: the command runs with the env's user's rights.
"""

from __future__ import annotations

import functools
import os
import shutil
import subprocess
from pathlib import Path

from envs.desktop.procs import kill_group, spawn

SHELL_PATH = "/usr/local/bin:/usr/bin:/bin"
# Inside the namespaces: hide the side channel, then run the command from HOME.
_INNER = 'mount -t tmpfs -o size=1k tmpfs "$1" 2>/dev/null; cd "$HOME" && exec /bin/sh -c "$2"'


@functools.cache
def isolation() -> str:
    """'netns', 'userns' or 'none' (see the module docstring)."""
    if shutil.which("unshare") is None:
        return "none"
    for mode, prefix in (("netns", ["unshare", "--net", "--mount"]),
                         ("userns", ["unshare", "--user", "--map-root-user", "--net", "--mount"])):  # fmt: skip
        try:
            ok = subprocess.run([*prefix, "true"], capture_output=True, timeout=5).returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            ok = False
        if ok:
            return mode
    return "none"


def sandbox_argv(command: str, hidden: Path) -> list[str]:
    """argv that runs `command` under /bin/sh in the sandbox, with `hidden` masked."""
    mode = isolation()
    prefix = {"netns": ["unshare", "--net", "--mount"],
              "userns": ["unshare", "--user", "--map-root-user", "--net", "--mount"]}.get(mode)  # fmt: skip
    if prefix is None:
        return ["/bin/sh", "-c", 'cd "$HOME" && exec /bin/sh -c "$1"', "sh", command]
    return [*prefix, "/bin/sh", "-c", _INNER, "sh", str(hidden), command]


def sandbox_env(home: Path) -> dict[str, str]:
    return {
        "HOME": str(home),
        "PATH": SHELL_PATH,
        "LANG": "C.UTF-8",
        "TERM": "dumb",
        "USER": os.environ.get("USER", "user"),
    }


def run(command: str, home: Path, hidden: Path, timeout_s: float, max_output_chars: int,
        argv: list[str] | None = None) -> str:  # fmt: skip
    """Run `command`; return its output (truncated) with a note on a non-zero exit or the time limit.
    `argv`, when given, is how to run it instead (envs/desktop/real/confine.py: confined to HOME)."""
    proc = spawn(argv or sandbox_argv(command, hidden), sandbox_env(home), cwd=str(home), stdout=subprocess.PIPE,
                 stderr=subprocess.STDOUT)  # fmt: skip
    try:
        out, _ = proc.communicate(timeout=timeout_s)
        note = f"[exit code {proc.returncode}]" if proc.returncode else ""
    except subprocess.TimeoutExpired:
        kill_group(proc, term_timeout_s=0.0)
        try:
            out, _ = proc.communicate(timeout=1.0)
        except subprocess.TimeoutExpired:  # a process that left the group still holds the pipe
            out = b""
        note = f"[killed: the command ran longer than {timeout_s:g} s]"
    kill_group(proc, term_timeout_s=0.0)  # what it left running in the background goes too
    text = out.decode(errors="replace")
    if len(text) > max_output_chars:
        text = text[:max_output_chars] + f"\n[... {len(text) - max_output_chars} more characters cut]"
    if argv is None and isolation() == "none":
        note += "\n[note: this machine cannot isolate the shell; it has network access]"
    return "\n".join(part for part in (text.rstrip("\n"), note.strip()) if part) or "[no output]"
