"""Toy GUI tasks drawn with Pillow: click named buttons. Fast (no browser), seeded, with a scripted expert.

For tests and for learning curves that must be quick and stable: `toy.click-target` asks for one click on
a named button; `toy.click-sequence` asks for several in order, with a heavy-tailed number of steps (the
async collector's benchmark uses it). A wrong click ends the episode with reward 0.
"""

from __future__ import annotations

import random
import time
from typing import Any

import numpy as np
from PIL import Image, ImageDraw

from envs.actions import Action, format_response
from envs.core.elements import Element
from envs.core.gui_env import GUIEnv

LABELS = ("ok", "cancel", "submit", "yes", "no", "next", "back", "search", "login", "save", "delete", "apply",
          "close", "open", "edit", "send", "reset", "help", "start", "stop")  # fmt: skip


class ToyClickEnv(GUIEnv):
    def __init__(
        self,
        min_buttons: int = 2,
        max_buttons: int = 6,
        sequence: tuple[int, ...] = (1,),
        size: int = 160,
        max_steps: int = 8,
        reset_delay_s: float = 0.0,  # every reset first sleeps this long (tests: an env worker that hangs)
        **kwargs: Any,
    ) -> None:
        super().__init__(width=size, height=size, max_steps=max_steps, **kwargs)
        self.reset_delay_s = reset_delay_s
        if not 1 <= min_buttons <= max_buttons <= len(LABELS):
            raise ValueError(f"min_buttons/max_buttons: need 1 <= min <= max <= {len(LABELS)}")
        self.min_buttons, self.max_buttons = min_buttons, max_buttons
        self.sequence = tuple(sequence)  # lengths to draw from (repeats weight them)
        self.buttons: list[Element] = []
        self.targets: list[int] = []
        self.clicked: list[int] = []
        self.failed = False

    def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
        if self.reset_delay_s > 0:
            time.sleep(self.reset_delay_s)
        rng = random.Random(seed)
        n = rng.randint(self.min_buttons, self.max_buttons)
        labels = rng.sample(LABELS, n)
        self.buttons = []
        cols, rows = 3, 5
        cells = rng.sample(range(cols * rows), n)
        cw, ch = self.width // cols, (self.height - 30) // rows
        for i, (label, cell) in enumerate(zip(labels, cells, strict=True)):
            c, r = cell % cols, cell // cols
            w, h = rng.randint(36, cw - 4), rng.randint(16, ch - 4)
            x = c * cw + rng.randint(0, cw - w)
            y = 30 + r * ch + rng.randint(0, ch - h)
            self.buttons.append(Element(i, "button", label, x, y, w, h))
        k = min(n, rng.choice(self.sequence))
        self.targets = rng.sample(range(n), k)
        self.clicked, self.failed = [], False
        names = [f'"{self.buttons[t].text}"' for t in self.targets]
        if k == 1:
            return f"Click the {names[0]} button."
        return f"Click the buttons {', '.join(names)} in this order."

    def _hit(self, p: tuple[int, int]) -> int | None:
        for b in self.buttons:
            if b.x <= p[0] < b.x + b.w and b.y <= p[1] < b.y + b.h:
                return b.index
        return None

    def _execute(self, action: Action) -> str | None:
        if action.verb != "click" or action.start is None:
            return None
        hit = self._hit(action.start)
        if hit is None:
            return None  # a click on the background does nothing
        if hit == self.targets[len(self.clicked)]:
            self.clicked.append(hit)
        else:
            self.failed = True
        return None

    def _evaluate(self, action: Action | None) -> tuple[float, bool]:
        if self.failed:
            return 0.0, True
        if len(self.clicked) == len(self.targets):
            return 1.0, True
        return 0.0, False

    def _screenshot(self) -> np.ndarray:
        img = Image.new("RGB", (self.width, self.height), (255, 255, 255))
        d = ImageDraw.Draw(img)
        d.rectangle([0, 0, self.width - 1, 27], fill=(255, 255, 170))
        d.text((3, 3), self.instruction[:40], fill=(0, 0, 0))
        d.text((3, 14), self.instruction[40:80], fill=(0, 0, 0))
        for b in self.buttons:
            fill = (160, 220, 160) if b.index in self.clicked else (225, 225, 225)
            d.rectangle([b.x, b.y, b.x + b.w - 1, b.y + b.h - 1], fill=fill, outline=(60, 60, 60))
            d.text((b.x + 3, b.y + max(0, b.h // 2 - 6)), b.text, fill=(0, 0, 0))
        return np.asarray(img, dtype=np.uint8)

    def _elements(self) -> list[Element]:
        return list(self.buttons)

    def expert_action(self) -> str:
        target = self.buttons[self.targets[len(self.clicked)]]
        return format_response(Action("click", target.center), f'I click the "{target.text}" button.')


def register_all() -> None:
    from envs.registry import EnvSpec, register

    common = dict(entry_point="envs.toy.click:ToyClickEnv", kind="toy", source="envs.toy", has_expert=True)
    register(EnvSpec(id="agentrl/toy.click-target-v0", tags=("toy",), **common))  # type: ignore[arg-type]
    # 1..6 clicks, heavy-tailed: most episodes are short, a few are long.
    register(
        EnvSpec(
            id="agentrl/toy.click-sequence-v0",
            tags=("toy",),  # type: ignore[arg-type]
            kwargs={
                "sequence": (1, 1, 1, 1, 2, 2, 3, 6),
                "min_buttons": 6,
                "max_buttons": 8,
                "max_steps": 12,
            },
            **common,
        )
    )
