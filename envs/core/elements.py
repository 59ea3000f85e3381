"""The element-list observation: visible interactive elements with their centres in screenshot pixels.

Rebuilt at every observation from the DOM / accessibility tree (browser) or reported by the app (desktop),
as BrowserGym's AXTree mode and Set-of-Marks do. One line per element:

    [3] button "Submit" (80,152)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

TextMode = Literal["off", "elements", "axtree"]
TEXT_MODES: tuple[str, ...] = ("off", "elements", "axtree")


@dataclass(frozen=True)
class Element:
    index: int
    role: str  # button, link, textbox, checkbox, radio, combobox, option, text, ...
    text: str  # visible text or label, whitespace-collapsed, truncated
    x: int  # bounding box in screenshot pixels
    y: int
    w: int
    h: int
    value: str = ""  # current value of inputs ("" when none)

    @property
    def center(self) -> tuple[int, int]:
        return self.x + self.w // 2, self.y + self.h // 2

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Element:
        return cls(
            **{k: d[k] for k in ("index", "role", "text", "x", "y", "w", "h") if k in d},
            value=d.get("value", ""),
        )


def _clean(s: str, limit: int = 40) -> str:
    s = " ".join(s.split()).replace('"', "'")
    return s if len(s) <= limit else s[: limit - 1] + "…"


def format_elements(
    elements: Sequence[Element], to_model: Callable[[tuple[int, int]], tuple[int, int]] | None = None
) -> str:
    """One line per element; `to_model` maps centres into the model's coordinate frame."""
    lines = []
    for e in elements:
        cx, cy = to_model(e.center) if to_model else e.center
        value = f' value="{_clean(e.value)}"' if e.value else ""
        lines.append(f'[{e.index}] {e.role} "{_clean(e.text)}"{value} ({cx},{cy})')
    return "\n".join(lines)
