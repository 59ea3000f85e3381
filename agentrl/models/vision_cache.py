"""Screenshots' vision features computed once and reused, for learners whose vision tower is frozen.

In PPO the same screenshot goes through the model for the old logprobs, the reference, the values and
every epoch and minibatch; an episode's turns carry the same images again in their prompts. With the
vision tower frozen (`freeze_vision`) its output for an image never changes, so the learner keys each
image's merged features (the tokens that replace its `<|image_pad|>`s) by the image's content and computes
only the images it has not seen. Least recently used entries go past `max_bytes`.
"""

from __future__ import annotations

import hashlib
import weakref
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import torch

_keys: dict[int, tuple[weakref.ref, str]] = {}  # id(image) -> (the image, its key): hash each object once


def image_key(image: object) -> str:
    """A content key for an image (array or PIL): shape and a 128-bit hash of its pixels. An array object
    seen before is not hashed again (PPO passes the same samples to every forward); treat images as
    read-only once they are in a sample."""
    seen = _keys.get(id(image))
    if seen is not None and seen[0]() is image:
        return seen[1]
    arr = np.ascontiguousarray(np.asarray(image))
    key = f"{'x'.join(map(str, arr.shape))}:{hashlib.blake2b(arr.tobytes(), digest_size=16).hexdigest()}"
    try:
        if len(_keys) > 65536:
            _keys.clear()
        _keys[id(image)] = (weakref.ref(image), key)
    except TypeError:  # an object that takes no weak reference: hashed every time
        pass
    return key


def nbytes(value: object) -> int:
    """Bytes held by a tensor, or by the tensors of a tuple or list."""
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    return 0


class FeatureCache:
    """key -> tensor (or tuple of tensors), bounded by total bytes, least recently used evicted first."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[str, Any] = OrderedDict()
        self.bytes = 0
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._items)

    def get(self, key: str) -> Any:
        value = self._items.get(key)
        if value is not None:
            self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        if key in self._items:
            return
        self._items[key] = value
        self.bytes += nbytes(value)
        while self.bytes > self.max_bytes and len(self._items) > 1:
            _, old = self._items.popitem(last=False)
            self.bytes -= nbytes(old)

    def clear(self) -> None:
        self._items.clear()
        self.bytes = 0

    def lookup(
        self,
        keys: Sequence[str],
        compute: Callable[[list[int]], list[Any]],
    ) -> list[Any]:
        """The values for `keys`, computing the missing ones in one call: `compute(indices)` returns the
        values of keys[i] for those indices. A key repeated in one call is computed once."""
        found: dict[str, Any] = {}
        missing: list[int] = []
        for i, key in enumerate(keys):
            value = self.get(key)
            if value is not None:
                found[key] = value
                self.hits += 1
            elif key not in found and all(keys[j] != key for j in missing):
                missing.append(i)
                self.misses += 1
            else:
                self.hits += 1
        if missing:
            for i, value in zip(missing, compute(missing), strict=True):
                found[keys[i]] = value
                self.put(keys[i], value)
        return [found[k] for k in keys]
