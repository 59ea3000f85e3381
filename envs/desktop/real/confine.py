"""The shell action and the terminal's shell of the real-app env, confined to the episode's HOME.

envs/desktop/shell.py (the Tk family's shell) hides the side channel and cuts the network; here the agent
drives real apps as the env's user (root in CI), so the command gets a root of its own as well:

    unshare --net --mount --pid --fork      no network, private mounts, only its own processes
    new root (tmpfs)                        /usr and /etc read-only, /bin etc. as links into /usr,
                                            /dev with null, zero, random, urandom and the tty, a fresh /tmp,
                                            /proc of its own pid namespace, and HOME (read-write) at its path
    pivot_root, old root unmounted          nothing else of the machine is reachable
    setpriv: no capabilities, no new privileges   so it cannot mount its way back out

Where the namespaces are not available (not root, no unshare), `argv` refuses: the env cannot run its
shell then, and says so (`isolation()` tells ahead).
"""

from __future__ import annotations

import functools
import shutil
import subprocess
from pathlib import Path

from envs.core.gui_env import EnvFault

_INNER = r"""
set -e
PATH="$PATH:/usr/sbin:/sbin"
R="$1"; shift
mount -t tmpfs -o size=64m,mode=755 agentrl-root "$R"
mkdir -p "$R/usr" "$R/etc" "$R/dev" "$R/proc" "$R/tmp" "$R/old"
for d in usr etc; do mount --rbind "/$d" "$R/$d"; mount -o remount,bind,ro "$R/$d"; done
for l in bin sbin lib lib64; do [ -L "/$l" ] && ln -s "usr/$l" "$R/$l"; done
mount -t tmpfs -o size=1m,mode=755 dev "$R/dev"
for n in null zero random urandom tty; do touch "$R/dev/$n"; mount --bind "/dev/$n" "$R/dev/$n"; done
[ -d /dev/pts ] && mkdir "$R/dev/pts" && mount --bind /dev/pts "$R/dev/pts"
mount -t tmpfs -o size=64m,mode=1777 tmp "$R/tmp"
mkdir -p "$R$HOME"; mount --bind "$HOME" "$R$HOME"
mount -t proc proc "$R/proc"
cd "$R"; pivot_root . old; umount -l /old; rmdir /old
cd "$HOME"
exec setpriv --bounding-set=-all --inh-caps=-all --no-new-privs -- /bin/sh -c "$1"
"""


@functools.cache
def available() -> bool:
    """Whether this machine can confine commands (root with mount and pid namespaces, and the tools)."""
    if not all(shutil.which(t) for t in ("unshare", "setpriv")):
        return False
    try:
        argv = ["unshare", "--net", "--mount", "--pid", "--fork", "--propagation", "private", "true"]
        return subprocess.run(argv, capture_output=True, timeout=5).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def argv(command: str, staging: Path) -> list[str]:
    """argv that runs `command` under /bin/sh in a root of its own holding only HOME (from the
    environment); `staging` is an empty directory the new root is built on (invisible outside)."""
    if not available():
        raise EnvFault(
            "shell: this machine cannot confine commands to the episode HOME (needs root, unshare)"
        )
    return ["unshare", "--net", "--mount", "--pid", "--fork", "--propagation", "private", "--kill-child",
            "/bin/sh", "-c", _INNER, "sh", str(staging), command]  # fmt: skip
