"""Local web apps as multi-turn browser tasks: `agentrl/webapp.<app>.<template>-v0`, each with a scripted expert.

base.py     App (seeded server-side state, routes), Task (instruction + checker on that state), templates
server.py   AppServer: a stdlib ThreadingHTTPServer on 127.0.0.1, port 0, in a daemon thread
html.py     the shared page layout and form helpers (plain HTML, no external assets, fits 800x600)
shop.py     product list -> product page -> cart (coupon, remove) -> checkout -> order confirmation
mail.py     folders -> message -> reply / forward / compose / star / delete / move to folder
admin.py    users -> edit / new user forms; settings: General (timezone drop-down), Features (toggles)
env.py      WebAppEnv(BrowserEnv): starts the app's server, resets its state per seed, reward from the checker
experts/    one scripted expert per template: app state and DOM in, UI-TARS action text out
"""

from __future__ import annotations

import importlib

APP_MODULES = ("shop", "mail", "admin")  # modules under webapps/ that define an App and its templates


def load_apps() -> None:
    for name in APP_MODULES:
        importlib.import_module(f"envs.browser.webapps.{name}")


def register_all() -> None:
    """One id per (app, template); the entry point is a string, so Playwright is not imported here."""
    from envs.browser.webapps.base import APPS, env_id
    from envs.registry import EnvSpec, register

    load_apps()
    for app, cls in sorted(APPS.items()):
        for name, t in cls.templates.items():
            register(
                EnvSpec(
                    id=env_id(app, name),
                    entry_point="envs.browser.webapps.env:WebAppEnv",
                    kind="web-app",
                    source="envs.browser.webapps",
                    kwargs={"app": app, "template": name},
                    has_expert=True,
                    tags=("webapp", app),
                    max_episode_steps=t.max_steps,
                )
            )
