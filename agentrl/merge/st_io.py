"""Tensor-by-tensor safetensors reading and writing, so a merge holds one tensor per input in memory.

The format: 8 bytes (little-endian u64) header length N, N bytes of JSON
`{name: {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}}`, then the data; offsets
are relative to the byte after the header. `safetensors.safe_open` maps whole files, and their touched pages
count towards a process's memory until the file is closed; reading each tensor with one `readinto` keeps the
peak at the largest tensor, and writing against a header computed up front needs no shard in memory either.
"""

from __future__ import annotations

import json
import struct
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

import torch

DTYPES: dict[str, torch.dtype] = {
    "F64": torch.float64,
    "F32": torch.float32,
    "F16": torch.float16,
    "BF16": torch.bfloat16,
    "F8_E4M3": torch.float8_e4m3fn,
    "F8_E5M2": torch.float8_e5m2,
    "I64": torch.int64,
    "I32": torch.int32,
    "I16": torch.int16,
    "I8": torch.int8,
    "U8": torch.uint8,
    "BOOL": torch.bool,
}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}


@dataclass(frozen=True)
class TensorInfo:
    """Where one tensor lives: its file, absolute byte range, dtype name (safetensors') and shape."""

    file: Path
    begin: int
    end: int
    dtype: str
    shape: tuple[int, ...]


def read_header(file: Path) -> tuple[dict[str, TensorInfo], dict[str, str]]:
    """The tensors of one `.safetensors` file (in file order) and its `__metadata__`."""
    with open(file, "rb") as f:
        (n,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(n))
    meta = header.pop("__metadata__", None) or {}
    start = 8 + n
    infos = {
        name: TensorInfo(
            file, start + h["data_offsets"][0], start + h["data_offsets"][1], h["dtype"], tuple(h["shape"])
        )
        for name, h in sorted(header.items(), key=lambda kv: kv[1]["data_offsets"][0])
    }
    return infos, meta


class TensorReader:
    """Reads single tensors by name from a set of shard files; keeps their file handles open until `close`."""

    def __init__(self, files: list[Path]) -> None:
        self.index: dict[str, TensorInfo] = {}
        self.shards: dict[Path, list[str]] = {}  # file -> its tensor names, in file order
        for file in files:
            infos, _ = read_header(file)
            self.index.update(infos)
            self.shards[file] = list(infos)
        self._handles: dict[Path, BinaryIO] = {}

    def get(self, name: str, rows: tuple[int, int] | None = None) -> torch.Tensor:
        """A fresh tensor (owned memory, not a view of a mapping); `rows` = (i, j) reads rows i..j-1 of the
        first dimension only (they are contiguous in the file)."""
        info = self.index[name]
        dtype = DTYPES[info.dtype]
        shape, begin, end = info.shape, info.begin, info.end
        if rows is not None:
            row_bytes = (end - begin) // shape[0] if shape and shape[0] else 0
            begin, end = begin + rows[0] * row_bytes, begin + rows[1] * row_bytes
            shape = (rows[1] - rows[0], *shape[1:])
        if end == begin:
            return torch.empty(shape, dtype=dtype)
        buf = bytearray(end - begin)
        f = self._handles.get(info.file)
        if f is None:
            f = self._handles[info.file] = open(info.file, "rb")  # noqa: SIM115 (closed in close())
        f.seek(begin)
        if f.readinto(buf) != len(buf):
            raise OSError(f"weights: '{info.file}' is truncated (tensor '{name}')")
        return torch.frombuffer(buf, dtype=torch.uint8).view(dtype).reshape(shape)

    def close(self) -> None:
        for f in self._handles.values():
            f.close()
        self._handles.clear()

    def __enter__(self) -> TensorReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class ShardWriter:
    """Writes one `.safetensors` file whose tensor names, dtypes and shapes are known before any data.

    `write(name, tensor)` must be called in the order given, a tensor whole or as consecutive row blocks;
    the file is valid once `close()` has checked every tensor arrived.
    """

    def __init__(
        self, file: Path, specs: list[tuple[str, str, tuple[int, ...]]], metadata: dict[str, str]
    ) -> None:
        header: dict[str, object] = {"__metadata__": metadata} if metadata else {}
        self.order, self.sizes, offset = [], [], 0
        for name, dtype, shape in specs:
            size = DTYPES[dtype].itemsize * _numel(shape)
            header[name] = {"dtype": dtype, "shape": list(shape), "data_offsets": [offset, offset + size]}
            self.order.append((name, dtype, tuple(shape)))
            self.sizes.append(size)
            offset += size
        raw = json.dumps(header, separators=(",", ":")).encode()
        raw += b" " * (-len(raw) % 8)  # data starts 8-byte aligned, as safetensors writes it
        self.file, self.total_bytes, self.next, self._part = (
            file,
            offset,
            0,
            0,
        )  # _part: bytes of `next` written
        self._f = open(file, "wb")  # noqa: SIM115 (closed in close())
        self._f.write(struct.pack("<Q", len(raw)) + raw)

    def write(self, name: str, tensor: torch.Tensor) -> None:
        want_name, dtype, shape = self.order[self.next]
        whole = tuple(tensor.shape) == shape
        rows = len(shape) > 0 and tuple(tensor.shape[1:]) == shape[1:]
        if name != want_name or DTYPE_NAMES[tensor.dtype] != dtype or not (whole or rows):
            raise ValueError(
                f"shard writer: got {name} {tensor.dtype} {tuple(tensor.shape)}, expected {want_name}"
            )
        if tensor.numel():
            self._f.write(tensor.detach().cpu().contiguous().reshape(-1).view(torch.uint8).numpy())
        self._part += tensor.numel() * tensor.element_size()
        if self._part > self.sizes[self.next]:
            raise ValueError(f"shard writer: more data than tensor '{name}' holds")
        if self._part == self.sizes[self.next]:
            self.next, self._part = self.next + 1, 0

    def abort(self) -> None:
        """Close without the completeness check (the caller removes the partial file)."""
        self._f.close()

    def close(self) -> None:
        self._f.close()
        if self.next != len(self.order):
            raise ValueError(f"shard writer: '{self.file}' got {self.next} of {len(self.order)} tensors")


def _numel(shape: tuple[int, ...]) -> int:
    n = 1
    for s in shape:
        n *= s
    return n
