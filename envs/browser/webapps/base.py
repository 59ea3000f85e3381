"""What every local web app is made of: server-side state rebuilt from a seed, routes that render plain
HTML, and task templates whose checkers read that state.

    class Shop(App):            # one module per app: its state, its pages, its templates
        name = "shop"
        def reset(self, rng): ...                       # the whole state, from the seed
        routes = [("GET", r"/product/(\\w+)", "product"), ...]   # regex -> method name(match groups, form)

    @template(Shop, "buy-item", max_steps=15)
    def buy_item(app: Shop, rng: random.Random) -> Task: ...  # instruction, checker, terminal-failure test

A Task's `check()` says whether the goal holds on the app's state now; `failed()` whether the app reached
a terminal state (an order placed, a message sent, a form saved) without it. Both run under the app's lock.
"""

from __future__ import annotations

import random
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from envs.browser.webapps.html import error_page


@dataclass(frozen=True)
class Response:
    status: int = 200
    body: str = ""
    location: str | None = None  # set for a 303 redirect


def redirect(location: str) -> Response:
    return Response(303, "", location)


@dataclass(frozen=True)
class Task:
    instruction: str
    check: Callable[[], bool]  # the goal holds on the app's state now
    failed: Callable[[], bool]  # the app reached a terminal state without the goal
    params: dict[str, Any] = field(default_factory=dict)  # what the scripted expert needs to know


@dataclass(frozen=True)
class Template:
    name: str
    make: Callable[[Any, random.Random], Task]  # (app after reset, rng) -> Task; may add to the state
    max_steps: int


class App:
    """A web app's state and pages. Subclasses set `name`, `title`, `nav`, `routes` and implement `reset`."""

    name: ClassVar[str]
    title: ClassVar[str]
    routes: ClassVar[list[tuple[str, str, str]]]  # (method, path regex, handler method name)
    templates: ClassVar[dict[str, Template]]

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.events: list[str] = []  # what the user committed this episode ("order", "sent", ...)
        self.flash = ""  # a one-shot notice shown on the next page
        self.reset(random.Random(0))

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.templates = {}
        APPS[cls.name] = cls

    def reset(self, rng: random.Random) -> None:
        raise NotImplementedError

    def start(self, rng: random.Random) -> None:
        """A new episode: the state from `rng`, no events, no notice."""
        self.events, self.flash = [], ""
        self.reset(rng)

    def handle(self, method: str, path: str, form: dict[str, str]) -> Response:
        with self.lock:
            for m, pattern, name in self.routes:
                match = re.fullmatch(pattern, path)
                if m == method and match:
                    return getattr(self, name)(*match.groups(), form=form)
        return Response(404, error_page(f"Not found: {path}"))

    def take_flash(self) -> str:
        notice, self.flash = self.flash, ""
        return notice


APPS: dict[str, type[App]] = {}


def template(
    app: type[App], name: str, max_steps: int
) -> Callable[[Callable[..., Task]], Callable[..., Task]]:
    """Register a task template of `app`; names are unique per app."""

    def add(make: Callable[..., Task]) -> Callable[..., Task]:
        if name in app.templates:
            raise ValueError(f"web app '{app.name}': template '{name}' registered twice")
        app.templates[name] = Template(name, make, max_steps)
        return make

    return add


def env_id(app: str, template_name: str) -> str:
    return f"agentrl/webapp.{app}.{template_name}-v0"
