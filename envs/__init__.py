"""Gymnasium environments for GUI agents: toy, browser (Playwright, MiniWoB++, web apps), desktop (Xvfb: bundled Tk apps, and Debian's real apps).

Importing `envs` registers every built-in env id (`agentrl/<family>.<task>-v<N>`) with gymnasium; the
families register lazily (entry points are strings), so the import stays cheap.
"""

from envs.registry import EnvSpec, UnknownEnvError, add_loader, list_envs, load_all, make, register, spec

# Each family adds one loader line here.
add_loader("envs.toy.click:register_all")
add_loader("envs.desktop.tasks:register_all")
add_loader("envs.desktop.real.tasks:register_all")
add_loader("envs.browser.miniwob:register_all")
add_loader("envs.browser.webapps:register_all")
add_loader("envs.wrappers.minigrid:register_all")

load_all()

__all__ = ["EnvSpec", "UnknownEnvError", "list_envs", "make", "register", "spec"]
