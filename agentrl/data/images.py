"""Image codecs for the store: how a screenshot's pixels become bytes in a Parquet column and back.

One signature per codec: `encode(uint8 array) -> bytes`, `decode(bytes, shape) -> uint8 array` (an array
that owns its memory).

- `zstd` (default): the pixel bytes, zstd-compressed one image at a time: smaller than PNG and several
  times faster both ways. UI screens are flat colour, which zstd packs well.
- `lz4`: faster still, and larger (about PNG's size).
- `png`: lossless PNG bytes, for stores meant to be read by other tools image by image.

The measurements: benchmarks/results/NOTES.md, "Image codecs of the store".

PNG remains the format at the edges (JSONL and HF exports, HTML pages, imports).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from rollout.trajectory import decode_png, png_bytes


@dataclass(frozen=True)
class Codec:
    encode: Callable[[np.ndarray], bytes]
    decode: Callable[[bytes, Sequence[int]], np.ndarray]


CODECS: dict[str, Codec] = {}


def register_codec(name: str, codec: Codec) -> None:
    if name in CODECS:
        raise ValueError(f"image codec '{name}' is already registered")
    CODECS[name] = codec


def codec(name: str) -> Codec:
    try:
        return CODECS[name]
    except KeyError:
        raise ValueError(f"unknown image codec '{name}'; known: {', '.join(sorted(CODECS))}") from None


def _block(name: str) -> Codec:
    """Raw pixels through an Arrow block compressor; decoding lands straight in the array's own buffer."""
    arrow = pa.Codec(name)

    def encode(a: np.ndarray) -> bytes:
        return arrow.compress(np.ascontiguousarray(a, dtype=np.uint8), asbytes=True)

    def decode(data: bytes, shape: Sequence[int]) -> np.ndarray:
        buf = arrow.decompress(data, decompressed_size=math.prod(shape))
        return np.frombuffer(buf, dtype=np.uint8).reshape(shape)  # writable: the buffer is fresh

    return Codec(encode, decode)


register_codec("zstd", _block("zstd"))
register_codec("lz4", _block("lz4"))
register_codec("png", Codec(png_bytes, lambda data, shape: np.array(decode_png(bytes(data)))))
