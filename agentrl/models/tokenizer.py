"""A byte-level BPE tokenizer trained locally, with Qwen2.5-VL's special tokens and whole-integer tokens.

No tokenizer can be downloaded here, so the tiny model gets its own: byte-level BPE (any text encodes),
trained on `vocab.corpus()`, plus every integer 0..1000 as one added token (a coordinate is one token,
never four), plus the special tokens Qwen2.5-VL's processor and chat template expect.
"""

from __future__ import annotations

import re

from tokenizers import AddedToken, Regex, Tokenizer, decoders, models, pre_tokenizers, trainers
from transformers import PreTrainedTokenizerFast

from agentrl.models.vocab import MAX_COORD, WORDS, corpus

_DIGITS = re.compile(r"\d+")

# Qwen2.5-VL's special tokens, in Qwen's order; the chat template and processor refer to them by name.
SPECIAL_TOKENS = (
    "<|endoftext|>", "<|im_start|>", "<|im_end|>", "<|object_ref_start|>", "<|object_ref_end|>",
    "<|box_start|>", "<|box_end|>", "<|quad_start|>", "<|quad_end|>", "<|vision_start|>", "<|vision_end|>",
    "<|vision_pad|>", "<|image_pad|>", "<|video_pad|>",
)  # fmt: skip

# Qwen2's pre-tokenizer regex with whole digit runs (`\p{N}+`) instead of single digits, and `_` inside
# words so the grammar's `start_box` or `left_double` can be one token.
PRETOKENIZE_REGEX = (
    r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}_]?[\p{L}_]+|\p{N}+| ?[^\s\p{L}\p{N}_]+[\r\n]*|\s*[\r\n]+"
    r"|\s+(?!\S)|\s+"
)


def train_tokenizer(
    vocab_size: int = 2048, seed: int = 0, pretokenize_regex: str = PRETOKENIZE_REGEX
) -> Tokenizer:
    """Train the BPE on the synthetic corpus and add the integer tokens. Deterministic for a seed.

    `vocab_size` counts the BPE part (bytes, merges, special tokens); the 1001 integers come on top.
    `pretokenize_regex` splits text into the pieces merges stay inside (benchmarks try other splits).
    """
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.Split(Regex(pretokenize_regex), behavior="isolated"),
            pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=list(SPECIAL_TOKENS),
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    # Digits are left out of training: the integer tokens below cover every digit run at encode time.
    tok.train_from_iterator((_DIGITS.sub(" ", line) for line in corpus(seed)), trainer=trainer)
    # Matched before pre-tokenisation, leftmost-longest: "(123,1000)" -> "(", "123", ",", "1000", ")".
    tok.add_tokens([AddedToken(str(i), normalized=False, special=False) for i in range(MAX_COORD + 1)])
    return tok


def build_tokenizer(
    vocab_size: int = 2048,
    seed: int = 0,
    model_max_length: int = 8192,
    pretokenize_regex: str = PRETOKENIZE_REGEX,
) -> PreTrainedTokenizerFast:
    """The HF tokenizer wrapping `train_tokenizer`, with Qwen2.5-VL's token names set."""
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=train_tokenizer(vocab_size, seed, pretokenize_regex),
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        model_max_length=model_max_length,
        extra_special_tokens={
            "image_token": "<|image_pad|>",
            "video_token": "<|video_pad|>",
            "vision_start_token": "<|vision_start|>",
            "vision_end_token": "<|vision_end|>",
        },
    )
    tokenizer.padding_side = "left"
    return tokenizer


def single_token_report(tokenizer: PreTrainedTokenizerFast) -> dict[str, list[str]]:
    """Which integers and grammar/UI words do NOT encode to one token (bare and after a space)."""
    bad_ints = [
        str(i) for i in range(MAX_COORD + 1) if len(tokenizer.encode(str(i), add_special_tokens=False)) != 1
    ]
    bad_words = [
        w
        for w in WORDS
        if len(tokenizer.encode(w, add_special_tokens=False)) != 1
        or len(tokenizer.encode(" " + w, add_special_tokens=False)) != 1
    ]
    return {"integers": bad_ints, "words": bad_words}
