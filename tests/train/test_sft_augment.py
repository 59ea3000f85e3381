"""SFT's screen-shift augmentation (agentrl.data.augment): every shifted sample is still a true demonstration."""

from __future__ import annotations

import itertools
import random
import re

import numpy as np
import pytest

from agentrl.data.augment import PointTokens, shift_image, shift_sample
from agentrl.train.data import TrainData, sample_stream

POINT = re.compile(r"\((\d+),(\d+)\)")


@pytest.fixture(scope="module")
def points(tiny_tokenizer):
    p = PointTokens.of(tiny_tokenizer)
    assert p is not None  # the tiny tokenizer gives every integer 0..1000 one token
    return p


def test_shift_image_moves_content_and_repeats_the_edge():
    img = np.arange(5 * 6 * 3, dtype=np.uint8).reshape(5, 6, 3)
    out = shift_image(img, 2, -1)  # right 2, up 1
    assert out.shape == img.shape
    assert (out[0:4, 2:6] == img[1:5, 0:4]).all()
    assert (out[:, 0] == out[:, 2]).all() and (out[4] == out[3]).all()  # edge pixels repeated
    assert (shift_image(img, 0, 0) == img).all()


def test_every_point_moves_with_the_screen(demo_samples, points, tiny_tokenizer):
    """The click and every listed centre move by the same (dx, dy) as the pixels under them."""
    moved = 0
    for n, s in enumerate(demo_samples[:12]):
        out = shift_sample(s, points, random.Random(n), 0.25)
        before = [tuple(map(int, m)) for m in POINT.findall(tiny_tokenizer.decode(s.input_ids))]
        after = [tuple(map(int, m)) for m in POINT.findall(tiny_tokenizer.decode(out.input_ids))]
        assert len(before) == len(after) > 0 and len(points.find(s.input_ids)) == len(before)
        (dx, dy), *rest = [(b[0] - a[0], b[1] - a[1]) for a, b in zip(before, after, strict=True)]
        assert all(d == (dx, dy) for d in rest)
        h, w = s.images[0].shape[:2]
        for (x, y), im, new in itertools.product(before, s.images, out.images):
            assert 0 <= x + dx < w and 0 <= y + dy < h
            assert (new[y + dy, x + dx] == im[y, x]).all()
        assert out.loss_mask == s.loss_mask and len(out.input_ids) == len(s.input_ids)
        moved += (dx, dy) != (0, 0)
    assert moved >= 10  # shifts are drawn, not zero


def test_shift_leaves_text_only_samples_alone(demo_samples, points):
    s = demo_samples[0]
    text_only = type(s)(s.input_ids, s.loss_mask, [], s.kind, s.source)
    assert shift_sample(text_only, points, random.Random(0), 0.25) is text_only


def test_a_tokenizer_that_splits_integers_gets_no_point_tokens():
    class Digits:  # "123" -> three tokens, as most pretrained tokenizers write numbers
        def encode(self, text, add_special_tokens=False):
            return [ord(c) for c in text]

    assert PointTokens.of(Digits()) is None


def test_shifted_stream_resumes_exactly(demo_store, points, tiny_tokenizer):
    cfg = TrainData(store=str(demo_store), shift_max_frac=0.25)
    image = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    whole = list(itertools.islice(sample_stream(cfg, "sft", image, 0, points=points), 40))
    resumed = list(itertools.islice(sample_stream(cfg, "sft", image, 0, skip=25, points=points), 15))
    assert [s.input_ids for s in resumed] == [s.input_ids for s in whole[25:]]
    assert all((a.images[0] == b.images[0]).all() for a, b in zip(resumed, whole[25:], strict=True))
    plain = list(
        itertools.islice(sample_stream(cfg.model_copy(update={"shift_max_frac": 0.0}), "sft", image, 0), 40)
    )
    assert sum(a.input_ids != b.input_ids for a, b in zip(whole, plain, strict=True)) >= 30
