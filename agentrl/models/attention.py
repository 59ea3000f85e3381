"""Variable-length attention without padding or per-segment loops: the learner's fast paths.

Two places in a Qwen2.5-VL forward attend within segments of one long sequence:

- the vision tower: every layer attends within windows (112x112 pixels; full layers within whole images).
  transformers' sdpa path runs one attention call per window, and a 1120x672 screenshot has 60 of them,
  so the ViT's step is mostly kernel launches (benchmarks/results/NOTES.md, "Vision-tower attention").
- the language model on a packed micro-batch: several samples in one row, each attending causally to
  itself only (verl's remove-padding, without flash-attn's varlen kernel).

`segment_attention` runs one scaled-dot-product call per run of consecutive equal-length segments, taken as
a view (n, H, L, D) of the sequence (no gather), so a screenshot's windows cost one to three calls, not
sixty. It is exact (the same softmax over the same keys), on CPU and GPU, with autograd.
"""

from __future__ import annotations

import types
from typing import Any

import torch
import torch.nn.functional as F

PACKED_ATTENTION = "agentrl_packed"  # the language model's attention implementation when packing is on
SEGMENTS_KWARG = "agentrl_cu_seqlens"  # cumulative segment lengths of a packed row, passed through forward
# the plans of the last few cu_seqlens tensors, by identity: the layers of one forward share one tensor
_plans: list[tuple[torch.Tensor, list[tuple[int, int, int]]]] = []


def segment_plan(cu_seqlens: torch.Tensor) -> list[tuple[int, int, int]]:
    """Runs of consecutive segments of equal length, as (start, count, length): a run is one view
    (count, length) of the sequence, so it costs one attention call and no copy. A screenshot's windows are
    one run (two or three when its size is not a multiple of the window); a packed row has a run per sample."""
    for tensor, plan in _plans:
        if tensor is cu_seqlens:
            return plan
    bounds = cu_seqlens.tolist()
    runs: list[tuple[int, int, int]] = []
    for start, end in zip(bounds[:-1], bounds[1:], strict=True):
        length = end - start
        if length <= 0:
            continue
        if runs and runs[-1][2] == length and runs[-1][0] + runs[-1][1] * length == start:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1, length)
        else:
            runs.append((start, 1, length))
    _plans[:] = [*_plans[-3:], (cu_seqlens, runs)]
    return runs


def segment_attention(
    q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, cu_seqlens: torch.Tensor, causal: bool, scale: float
) -> torch.Tensor:
    """softmax(q k^T * scale [+ causal mask]) v within each segment; q (H, T, D), k and v (Hkv, T, D) with
    H a multiple of Hkv (grouped-query). Returns (H, T, D)."""
    if k.shape[0] != q.shape[0]:  # grouped-query attention: each kv head serves H / Hkv query heads
        rep = q.shape[0] // k.shape[0]
        k, v = k.repeat_interleave(rep, dim=0), v.repeat_interleave(rep, dim=0)
    outs = []
    for start, count, length in segment_plan(cu_seqlens):
        span = slice(start, start + count * length)
        qs, ks, vs = (x[:, span].reshape(x.shape[0], count, length, -1).transpose(0, 1) for x in (q, k, v))
        o = F.scaled_dot_product_attention(qs, ks, vs, is_causal=causal, scale=scale)  # (count, H, L, D)
        outs.append(o.transpose(0, 1).reshape(q.shape[0], count * length, -1))
    return outs[0] if len(outs) == 1 else torch.cat(outs, dim=1)


# -- vision tower ------------------------------------------------------------------------------------------
def _vision_attention_forward(
    self: Any,
    hidden_states: torch.Tensor,
    cu_seqlens: torch.Tensor,
    position_embeddings: tuple[torch.Tensor, torch.Tensor] | None = None,
    **_: Any,
) -> torch.Tensor:
    """Qwen2.5-VL's vision attention (transformers' math: qkv, 2-D rotary, attention within each window or
    image, proj) with `segment_attention` in place of one call per window."""
    from transformers.models.qwen2_5_vl.modeling_qwen2_5_vl import apply_rotary_pos_emb_vision

    n = hidden_states.shape[0]
    q, k, v = self.qkv(hidden_states).reshape(n, 3, self.num_heads, -1).permute(1, 0, 2, 3).unbind(0)
    cos, sin = position_embeddings
    q, k = apply_rotary_pos_emb_vision(q, k, cos, sin)
    out = segment_attention(
        q.transpose(0, 1), k.transpose(0, 1), v.transpose(0, 1), cu_seqlens, causal=False, scale=self.scaling
    )
    return self.proj(out.transpose(0, 1).reshape(n, -1))


def install_vision_attention(model: torch.nn.Module) -> int:
    """Route every Qwen2.5-VL vision attention of `model` through `segment_attention`; returns how many."""
    count = 0
    for module in model.modules():
        if type(module).__name__ == "Qwen2_5_VLVisionAttention":
            module.forward = types.MethodType(_vision_attention_forward, module)
            count += 1
    return count


# -- language model on packed rows ---------------------------------------------------------------------------
def _packed_attention(
    module: Any,
    query: torch.Tensor,
    key: torch.Tensor,
    value: torch.Tensor,
    attention_mask: torch.Tensor | None,
    scaling: float | None = None,
    dropout: float = 0.0,
    **kwargs: Any,
) -> tuple[torch.Tensor, None]:
    """transformers attention interface: causal attention within the segments of a packed (1, T) row when
    the forward carries `agentrl_cu_seqlens`, plain sdpa otherwise (padded batches, generation)."""
    cu = kwargs.pop(SEGMENTS_KWARG, None)
    if cu is None:
        from transformers.integrations.sdpa_attention import sdpa_attention_forward

        return sdpa_attention_forward(module, query, key, value, attention_mask, scaling=scaling,
                                      dropout=dropout, **kwargs)  # fmt: skip
    assert query.shape[0] == 1, "a packed micro-batch is one row"
    scale = scaling if scaling is not None else query.shape[-1] ** -0.5
    out = segment_attention(query[0], key[0], value[0], cu.to(query.device), causal=True, scale=scale)
    return out.transpose(0, 1).unsqueeze(0), None  # (1, T, H, D), as transformers' interfaces return


def register_packed_attention() -> str:
    """Register the packed attention (and sdpa's mask builder under its name) with transformers."""
    from transformers import AttentionInterface
    from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, sdpa_mask

    AttentionInterface.register(PACKED_ATTENTION, _packed_attention)
    ALL_MASK_ATTENTION_FUNCTIONS.register(PACKED_ATTENTION, sdpa_mask)
    return PACKED_ATTENTION


def install_packed_attention(model: torch.nn.Module) -> None:
    """The language model of `model` attends with `_packed_attention` (the vision tower is left as it is)."""
    register_packed_attention()
    config = model.config
    text = config.get_text_config() if hasattr(config, "get_text_config") else config
    text._attn_implementation = PACKED_ATTENTION
