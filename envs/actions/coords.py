"""Coordinates between the screen and what the model sees.

Qwen2.5-VL resizes every image so each side is a multiple of 28 and the area lies in [min_pixels,
max_pixels] ("smart resize"); UI-TARS-1.5 answers in pixels of that resized image. Some models answer in
relative 0..1000 units instead. `CoordinateMapper` maps both ways; envs only ever see screen pixels.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from envs.actions.types import Action, Point

CoordinateSpace = Literal["screen", "smart_resize", "relative1000"]


def smart_resize(
    height: int, width: int, factor: int = 28, min_pixels: int = 56 * 56, max_pixels: int = 14 * 14 * 4 * 1280
) -> tuple[int, int]:
    """Qwen2.5-VL's resize rule: (h, w) rounded to multiples of `factor`, area within [min, max] pixels."""
    if max(height, width) / min(height, width) > 200:
        raise ValueError(f"aspect ratio must be below 200, got {max(height, width) / min(height, width):.1f}")
    h_bar = max(factor, round(height / factor) * factor)
    w_bar = max(factor, round(width / factor) * factor)
    if h_bar * w_bar > max_pixels:
        beta = math.sqrt((height * width) / max_pixels)
        h_bar = max(factor, math.floor(height / beta / factor) * factor)
        w_bar = max(factor, math.floor(width / beta / factor) * factor)
    elif h_bar * w_bar < min_pixels:
        beta = math.sqrt(min_pixels / (height * width))
        h_bar = math.ceil(height * beta / factor) * factor
        w_bar = math.ceil(width * beta / factor) * factor
    return h_bar, w_bar


@dataclass(frozen=True)
class CoordinateMapper:
    screen_w: int
    screen_h: int
    space: CoordinateSpace = "screen"
    min_pixels: int = 56 * 56
    max_pixels: int = 14 * 14 * 4 * 1280
    factor: int = 28

    @property
    def model_size(self) -> tuple[int, int]:
        """(w, h) of the coordinate frame the model answers in."""
        if self.space == "screen":
            return self.screen_w, self.screen_h
        if self.space == "relative1000":
            return 1000, 1000
        h, w = smart_resize(self.screen_h, self.screen_w, self.factor, self.min_pixels, self.max_pixels)
        return w, h

    def to_screen(self, p: Point) -> Point:
        mw, mh = self.model_size
        x = min(self.screen_w - 1, round(p[0] * self.screen_w / mw))
        y = min(self.screen_h - 1, round(p[1] * self.screen_h / mh))
        return max(0, x), max(0, y)

    def to_model(self, p: Point) -> Point:
        mw, mh = self.model_size
        return round(p[0] * mw / self.screen_w), round(p[1] * mh / self.screen_h)

    def action_to_screen(self, a: Action) -> Action:
        if self.space == "screen":
            return a
        return Action(
            a.verb,
            self.to_screen(a.start) if a.start else None,
            self.to_screen(a.end) if a.end else None,
            a.key,
            a.content,
            a.direction,
            a.command,
        )

    def action_to_model(self, a: Action) -> Action:
        if self.space == "screen":
            return a
        return Action(
            a.verb,
            self.to_model(a.start) if a.start else None,
            self.to_model(a.end) if a.end else None,
            a.key,
            a.content,
            a.direction,
            a.command,
        )
