"""Build a Qwen2.5-VL-architecture policy with random weights and a locally trained tokenizer.

No weights can be downloaded here, so tests and the default run use a model agentrl makes itself. It has
the real architecture (`Qwen2_5_VLForConditionalGeneration`), processor and chat template, so the same code
serves UI-TARS-1.5-7B or Qwen2.5-VL when a user points it at a real checkpoint.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from importlib import resources
from pathlib import Path

import torch
from transformers import (
    Qwen2_5_VLConfig,
    Qwen2_5_VLForConditionalGeneration,
    Qwen2_5_VLProcessor,
    Qwen2VLImageProcessor,
    Qwen2VLVideoProcessor,
)

from agentrl.models.tokenizer import build_tokenizer

PATCH = 14  # Qwen2.5-VL's ViT patch; with spatial merge 2 one image token covers 28x28 pixels
MERGE = 2


@dataclass(frozen=True)
class Preset:
    """Sizes of a from-scratch Qwen2.5-VL. head_dim = hidden / heads must be >= 32 for vLLM's CPU attention."""

    hidden_size: int
    intermediate_size: int
    num_layers: int
    num_heads: int
    num_kv_heads: int
    vision_hidden: int
    vision_intermediate: int
    vision_depth: int
    vision_heads: int
    bpe_vocab_size: int
    min_pixels: int  # image processor bounds; a 160x210 MiniWoB screen -> 168x224 -> 48 image tokens
    max_pixels: int
    mrope_section: tuple[int, int, int]  # sums to head_dim / 2
    # std of the normal init of the language model's linear and embedding weights. HF's 0.02 leaves
    # the tiny model on a loss plateau where it never learns to copy an element's centre from the list
    # (0/100 exact after 64k samples); 0.05, about PyTorch's default at width 128, leaves it (8-13% by 48k).
    # Untied N(0, 1) input embeddings copy far sooner on the probe's text but did worse in the main job
    # (benchmarks/results/sft_ablation.json: "split", findings.gap_explained, main_job_with_the_embedding_fix)
    init_std: float = 0.02


PRESETS: dict[str, Preset] = {
    # ~2M parameters: trains in CPU minutes on element lists.
    "tiny": Preset(128, 384, 4, 4, 2, 128, 256, 2, 4, 2048, 4 * 28 * 28, 256 * 28 * 28, (4, 6, 6), 0.05),
    # ~40M parameters: for GPU runs.
    "small": Preset(512, 1536, 8, 8, 4, 256, 768, 4, 4, 8192, 4 * 28 * 28, 1024 * 28 * 28, (8, 12, 12)),
}


def model_config(preset: Preset, vocab_size: int, token_ids: dict[str, int]) -> Qwen2_5_VLConfig:
    """The HF config for a preset; `token_ids` maps Qwen's special token names to this tokenizer's ids."""
    head_dim = preset.hidden_size // preset.num_heads
    assert head_dim >= 32 and sum(preset.mrope_section) == head_dim // 2, (
        "bad preset: head_dim / mrope_section"
    )
    text = dict(
        vocab_size=vocab_size,
        hidden_size=preset.hidden_size,
        intermediate_size=preset.intermediate_size,
        num_hidden_layers=preset.num_layers,
        num_attention_heads=preset.num_heads,
        num_key_value_heads=preset.num_kv_heads,
        max_position_embeddings=8192,
        max_window_layers=preset.num_layers,
        rope_parameters={
            "rope_type": "default",
            "rope_theta": 1_000_000.0,
            "mrope_section": list(preset.mrope_section),
        },
        bos_token_id=token_ids["<|endoftext|>"],
        eos_token_id=token_ids["<|im_end|>"],
        pad_token_id=token_ids["<|endoftext|>"],
        tie_word_embeddings=True,
        initializer_range=preset.init_std,
    )
    vision = dict(
        depth=preset.vision_depth,
        hidden_size=preset.vision_hidden,
        intermediate_size=preset.vision_intermediate,
        num_heads=preset.vision_heads,
        patch_size=PATCH,
        spatial_merge_size=MERGE,
        temporal_patch_size=2,
        window_size=4 * PATCH * MERGE,
        out_hidden_size=preset.hidden_size,
        fullatt_block_indexes=[preset.vision_depth - 1],
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=token_ids["<|image_pad|>"],
        video_token_id=token_ids["<|video_pad|>"],
        vision_start_token_id=token_ids["<|vision_start|>"],
        vision_end_token_id=token_ids["<|vision_end|>"],
        tie_word_embeddings=True,
        initializer_range=preset.init_std,  # the language model's; the vision tower keeps HF's 0.02
    )


def chat_template() -> str:
    return resources.files("agentrl.models").joinpath("chat_template.jinja").read_text()


def build_processor(preset: Preset, seed: int) -> Qwen2_5_VLProcessor:
    tokenizer = build_tokenizer(vocab_size=preset.bpe_vocab_size, seed=seed)
    size = {"shortest_edge": preset.min_pixels, "longest_edge": preset.max_pixels}
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(size=size, patch_size=PATCH, merge_size=MERGE),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(size=size, patch_size=PATCH, merge_size=MERGE),
        chat_template=chat_template(),
    )


def init_model(preset_name: str, out_dir: str | Path, seed: int = 0) -> Path:
    """Build the preset's model, tokenizer and processor with random weights and save an HF directory.

    Deterministic for a seed: the same seed gives bit-identical weights and the same tokenizer.
    """
    if preset_name not in PRESETS:
        raise ValueError(f"preset: unknown '{preset_name}'; allowed: {', '.join(PRESETS)}")
    preset = PRESETS[preset_name]
    out = Path(out_dir)
    processor = build_processor(preset, seed)
    tokenizer = processor.tokenizer
    token_ids = {t: tokenizer.convert_tokens_to_ids(t) for t in tokenizer.all_special_tokens}
    token_ids.update(
        {
            t: tokenizer.convert_tokens_to_ids(t)
            for t in ("<|image_pad|>", "<|video_pad|>", "<|vision_start|>", "<|vision_end|>", "<|endoftext|>")
        }
    )
    vocab_size = -(-len(tokenizer) // 64) * 64  # padded to a multiple of 64, as Qwen does
    config = model_config(preset, vocab_size, token_ids)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).to(torch.float32).eval()
    model.generation_config.eos_token_id = token_ids["<|im_end|>"]
    model.generation_config.pad_token_id = token_ids["<|endoftext|>"]
    model.generation_config.do_sample = False
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(out)
    processor.save_pretrained(out)
    (out / "agentrl_model.json").write_text(
        json.dumps({"preset": preset_name, "seed": seed, **asdict(preset)}, indent=2)
    )
    return out
