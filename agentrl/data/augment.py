"""Screen-shift augmentation for SFT: move the whole screen by (dx, dy), and every point in the sample with it.

GUI layouts sit on grids, so the element centres an SFT sample's click copies cluster on a few values, and
a small model fitted on them answers with that marginal (the grid's usual centres) before it learns to copy
the named element's centre from the element list. Shifting the screenshot and every `(x,y)` in the text by
the same random offset keeps each sample true (the click still hits the named element of the shifted
screen), spreads the centres over the screen, and makes every epoch's copy of a demonstration a new sample.

The shift takes a prior away. With HF's init (std 0.02) it brought no copying sooner (benchmarks/results/
NOTES.md, "Screen-shift augmentation"); with the tiny preset's 0.05 it gave the toy 48/200 held out at 38.4k
samples, above random click 28/200 (Fisher p 0.015), where the same SFT without it gave 27/200
(sft_ablation.json, shift+fresh@init05-1200). Off by default (TrainData.shift_max_frac = 0) until the main
job is re-run with it.

It works on token ids when the tokenizer gives every integer 0..1000 one token (the tiny model's does:
`agentrl.models.vocab`) and the points are screen pixels (AgentConfig.coordinate_space "screen"); with a
tokenizer that splits integers, `PointTokens.of` returns None and the SFT trains without the shift.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from agentrl.data.samples import TrainSample

MAX_COORD = 1000


@dataclass(frozen=True)
class PointTokens:
    """The token ids a point `(x,y)` is written with: one token per integer, a comma between them, a token
    ending in "(" before and one starting with ")" after (`' ('`, `"='("`, `')'`, `"')"` ...)."""

    int_ids: tuple[int, ...]  # integer n -> its token id, n = 0..MAX_COORD
    values: dict[int, int]  # token id -> integer
    comma: int
    opens: frozenset[int]
    closes: frozenset[int]

    @classmethod
    def of(cls, tokenizer: Any) -> PointTokens | None:
        """None when some integer in 0..MAX_COORD is more than one token (coordinates cannot be rewritten
        token by token)."""
        ids = [tokenizer.encode(str(n), add_special_tokens=False) for n in range(MAX_COORD + 1)]
        comma = tokenizer.encode(",", add_special_tokens=False)
        if any(len(i) != 1 for i in ids) or len(comma) != 1:
            return None
        vocab = tokenizer.convert_ids_to_tokens(list(range(len(tokenizer))))
        texts = [tokenizer.convert_tokens_to_string([t]) if t is not None else "" for t in vocab]
        return cls(
            int_ids=tuple(i[0] for i in ids),
            values={i[0]: n for n, i in enumerate(ids)},
            comma=comma[0],
            opens=frozenset(i for i, t in enumerate(texts) if t.endswith("(")),
            closes=frozenset(i for i, t in enumerate(texts) if t.startswith(")")),
        )

    def find(self, ids: list[int]) -> list[int]:
        """Positions of the x token of every `(x,y)` in `ids`."""
        return [
            i
            for i in range(1, len(ids) - 3)
            if ids[i - 1] in self.opens
            and ids[i] in self.values
            and ids[i + 1] == self.comma
            and ids[i + 2] in self.values
            and ids[i + 3] in self.closes
        ]


def shift_image(image: np.ndarray, dx: int, dy: int) -> np.ndarray:
    """The image's content moved right by dx and down by dy (negative: left/up); the uncovered border
    repeats the edge pixels.  (H, W, C) -> (H, W, C)."""
    h, w = image.shape[:2]
    pad = ((max(dy, 0), max(-dy, 0)), (max(dx, 0), max(-dx, 0))) + ((0, 0),) * (image.ndim - 2)
    padded = np.pad(image, pad, mode="edge")
    y0, x0 = max(-dy, 0), max(-dx, 0)
    return np.ascontiguousarray(padded[y0 : y0 + h, x0 : x0 + w])


def shift_sample(
    sample: TrainSample, points: PointTokens, rng: random.Random, max_frac: float
) -> TrainSample:
    """`sample` with its screenshots and every point shifted by one random (dx, dy) of at most `max_frac` of
    the screen's width and height, chosen so that every point stays on the screen. Samples without a
    screenshot, without points, or with screenshots of different sizes come back unchanged."""
    where = points.find(sample.input_ids)
    if not where or not sample.images or len({im.shape[:2] for im in sample.images}) != 1:
        return sample
    h, w = sample.images[0].shape[:2]
    xs = [points.values[sample.input_ids[i]] for i in where]
    ys = [points.values[sample.input_ids[i + 2]] for i in where]
    mx, my = round(max_frac * w), round(max_frac * h)
    lo_x, hi_x = max(-mx, -min(xs)), min(mx, w - 1 - max(xs))
    lo_y, hi_y = max(-my, -min(ys)), min(my, h - 1 - max(ys))
    if lo_x > hi_x or lo_y > hi_y:  # a point already off the screen: leave the sample alone
        return sample
    dx, dy = rng.randint(lo_x, hi_x), rng.randint(lo_y, hi_y)
    ids = list(sample.input_ids)
    for i, x, y in zip(where, xs, ys, strict=True):
        ids[i], ids[i + 2] = points.int_ids[x + dx], points.int_ids[y + dy]
    return replace(sample, input_ids=ids, images=[shift_image(im, dx, dy) for im in sample.images])
