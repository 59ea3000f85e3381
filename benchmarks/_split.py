"""The model x samples x optimizer split behind sft_ablation's rows: is the gap to the probe in the model,
the samples or the trainer?

One plain training loop (no LearnerGroup, no agent, no env in the loop: the probe's own loop) runs a
model on a sample source with an optimizer, each chosen by name, for a number of steps at batch 32, and
measures held-out exact copies by greedy decoding every `eval_every` steps:

    model    probe      the probe's GPT (LayerNorm, GELU MLP, learned absolute positions, untied head,
                        PyTorch's default init: N(0,1) embeddings), d 128, 4 layers, 4 heads
             probe-ropeB  the probe with RoPE of base B (1e6: Qwen2.5's) in place of learned positions;
                        -rms, -swiglu: with Qwen's RMSNorm, SwiGLU MLP too (probe-rope1e6-rms-swiglu)
             tiny       agentrl's tiny preset as built (Qwen2.5-VL text model: RMSNorm, SwiGLU, RoPE, GQA
                        4/2, tied embeddings, init std 0.05 since the init fix), on the source's vocabulary
             tiny-*     the tiny preset with one thing changed (see TINY_VARIANTS)
    samples  probe      the probe's text (`Click on the "w" role.` + list + `Action: `), its word/integer
                        tokenizer; probe-thought: a Thought naming the target before the click; probe-adj:
                        each label right before its point in the list; probe-thought-chat/-nosys/-sys/-pad:
                        the Thought text with agentrl's chat wrapping, or part of it, or a neutral run of
                        tokens as long, before it; probe-thought-toy: on the toy's elements (FORMATS);
                        FORM-mix: half the training samples without the wrapping, held out with it
             agentrl    the toy task as agentrl's SFT sees it: uniform centres, text only, no Thought,
                        fresh scripted-expert demos, agentrl's chat template and tokenizer; agentrl-thought
                        with the expert's Thought, agentrl-grid-thought on the toy's grid too,
                        agentrl-thought-punct with every punctuation mark one token; agentrl-thought-strip
                        without any chat wrapping (system message, user/assistant markers), -stripmix half
                        of the training samples so; SAMPLES-probetok: re-encoded in the probe's tokens
                        (sft_ablation.AGENTRL_SAMPLES)
    optim    probe      AdamW lr 1e-3, betas (0.9, 0.999), weight decay 0.01, constant, no clipping
             probe@LR   the same at another lr
             agentrl    agentrl's defaults: betas (0.9, 0.95), grad clip 1.0, 20 warmup steps, cosine to 0.1

Exact = the greedy continuation of the prompt equals the expert's response token for token (the probe's
"exact"; on the toy that is a click on the named button's centre).
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Callable, Iterator
from typing import Any

import torch
import torch.nn as nn
import torch.nn.functional as F

Sample = tuple[list[int], list[int]]  # token ids, loss mask (1 on the response)
TINY_VARIANTS: dict[str, dict[str, Any]] = {
    "tiny": {},
    "tiny-untied": {"tie_word_embeddings": False},
    "tiny-mha": {"num_key_value_heads": 4},
    "tiny-rope1e4": {"rope_theta": 1e4},
    "tiny-embed1": {"embed_std": 1.0},  # embeddings N(0, 1) as nn.Embedding's default (the probe's)
    "tiny-init05": {"initializer_range": 0.05},  # about PyTorch's default Linear init at width 128
    "tiny-init10": {"initializer_range": 0.1},
    "tiny-init05-untied-embed1": {"initializer_range": 0.05, "tie_word_embeddings": False, "embed_std": 1.0},
    "tiny-init05-mha": {"initializer_range": 0.05, "num_key_value_heads": 4},
    "tiny-init05-rope100": {"initializer_range": 0.05, "rope_theta": 100.0},
    "tiny-init05-6l": {
        "initializer_range": 0.05,
        "num_hidden_layers": 6,
        "max_window_layers": 6,
        "layer_types": ["full_attention"] * 6,
    },  # fmt: skip
    "tiny-init05-untied-mha-rope1e4": {
        "initializer_range": 0.05,
        "tie_word_embeddings": False,
        "num_key_value_heads": 4,
        "rope_theta": 1e4,
    },  # fmt: skip
}

# -- the probe's samples (../shared/probes/element_copy_probe.py, uniform positions) ---------------------
WORDS = ["ok", "cancel", "submit", "yes", "no", "next", "previous", "back", "search", "login", "save", "delete", "apply", "close", "open", "edit", "send", "reset", "help", "start", "stop"]  # fmt: skip
ROLES = ["button", "link", "checkbox", "textbox"]


# the probe's text in one of three forms (what a RoPE model needs near the coordinates it copies):
#   plain    the probe's: `[i] role "w" (x,y)` lines, the response is the click alone
#   thought  the response first names the target, as agentrl's expert does: `Thought: I click the "w" role.`
#   adj      each list line has the label right before its point: `[i] role w(x,y)`
#   thought-chat  thought inside agentrl's chat template and minimal system prompt (`Instruction:`, `Elements:`)
#   thought-nosys, thought-sys  thought-chat without its system message; the system message alone
#   thought-pad  the probe's thought text after a constant run of one word as long as the chat's additions
#   thought-toy   thought on the uniform toy's elements: one role (button), centres x 18..142, y 38..152
#   thought-agentrl  thought-toy in agentrl's words without the chat wrapping (`Instruction: Click the "w"
#                 button.`, `Elements:`): agentrl-thought-strip's text in the probe's tokenizer
#   thought-toy-nohead  thought-toy in agentrl-thought-nohead's words: a leading space, `Click the` (not `Click on
#                 the`), `<|im_end|>` for the final newline: agentrl-thought-nohead-probetok's text, but the
#                 probe's generator for the elements; thought-toy-imend: only `<|im_end|>` for the final newline;
#                 thought-toy-clickthe: only ` Click the` (a leading space, no `on`)
FORMATS = (
    "plain",
    "thought",
    "adj",
    "thought-chat",
    "thought-toy",
    "thought-nosys",
    "thought-sys",
    "thought-pad",
    "thought-agentrl",
    "thought-toy-nohead",
    "thought-toy-imend",
    "thought-toy-clickthe",
)


CHAT = (
    "<|im_start|>system\nYou are a GUI agent. Reply with Thought: ... then Action: ...<|im_end|>\n"
    "<|im_start|>user\nInstruction: {}\n\nElements:\n{}<|im_end|>\n<|im_start|>assistant\n"
)


def probe_text(rng: random.Random, form: str = "plain") -> tuple[str, str]:
    n = rng.randint(2, 6)
    # the uniform toy's elements: buttons, x 18..142, y 38..152
    if form.startswith("thought-toy") or form == "thought-agentrl":
        els = [(i, "button", w, rng.randint(18, 142), rng.randint(38, 152))
               for i, w in enumerate(rng.sample(WORDS, n))]  # fmt: skip
    else:
        els = [(i, rng.choice(ROLES), w, rng.randint(5, 155), rng.randint(55, 205))
               for i, w in enumerate(rng.sample(WORDS, n))]  # fmt: skip
    _, role, w, x, y = els[rng.randrange(n)]
    line = "[{}] {} {}({},{})\n" if form == "adj" else '[{}] {} "{}" ({},{})\n'
    listing = "".join(line.format(*e) for e in els)
    prompt = f'Click on the "{w}" {role}.\n' + listing
    click = f"click(start_box='({x},{y})')\n"
    if form == "thought-chat":  # agentrl's chat template and system prompt around the probe's text
        prompt = CHAT.format(f'Click on the "{w}" {role}.', listing)
    if form == "thought-nosys":  # the chat template's user and assistant turns, no system message
        prompt = CHAT.split("<|im_end|>\n", 1)[1].format(f'Click on the "{w}" {role}.', listing)
    if form == "thought-pad":  # a neutral word before the probe's text, as many tokens as the chat adds
        prompt = "pad " * 35 + prompt
    if form == "thought-sys":  # the system message before the probe's own text
        prompt = CHAT.split("<|im_end|>\n", 1)[0] + "<|im_end|>\n" + prompt
    if form == "thought-agentrl":  # agentrl's user message without the markers around it
        prompt = f'Instruction: Click the "{w}" {role}.\n\nElements:\n' + listing
    if form in ("thought-toy-nohead", "thought-toy-clickthe"):  # agentrl's instruction, no headers
        prompt = f' Click the "{w}" {role}.\n' + listing
    if form in ("thought-toy-nohead", "thought-toy-imend"):  # agentrl's end of turn for the final newline
        click = click.removesuffix("\n") + "<|im_end|>"
    if form.startswith("thought"):
        return prompt, f'Thought: I click the "{w}" {role}.\nAction: {click}'
    return prompt + "Action: ", click


class ProbeSource:
    """The probe's samples and tokenizer (words, punctuation and whole integers one token each)."""

    def __init__(self, form: str = "plain") -> None:
        # FORM-mix: half the training samples in FORM, half in the shorter thought form; held out in FORM
        tokz, self.form, self.mix = self.split, form.removesuffix("-mix"), form.endswith("-mix")
        forms = {"plain", self.form, "thought" if self.mix else "plain"}  # earlier rows' ids as they were
        vocab = {
            t
            for s in range(5000)
            for f in forms
            for part in probe_text(random.Random(s), f)
            for t in tokz(part)
        }
        self.itos = sorted(vocab | {str(i) for i in range(260)})
        self.stoi = {c: i + 1 for i, c in enumerate(self.itos)}
        self.vocab_size = len(self.itos) + 1

    @staticmethod
    def split(s: str) -> list[str]:
        return re.findall(r"\d+|\w+|[^\w]", s)

    def encode(self, s: str) -> list[int]:
        return [self.stoi[t] for t in self.split(s)]

    def pair(self, rng: random.Random, form: str = "") -> tuple[list[int], list[int]]:
        p, a = probe_text(rng, form or self.form)
        return self.encode(p), self.encode(a)

    def train(self, seed: int = 1) -> Iterator[Sample]:
        rng = random.Random(seed)
        while True:
            p, a = self.pair(rng, "thought" if self.mix and rng.random() < 0.5 else self.form)
            yield p + a, [0] * len(p) + [1] * len(a)

    def held_out(self, n: int) -> list[tuple[list[int], list[int]]]:
        rng = random.Random(999)
        return [self.pair(rng) for _ in range(n)]

    def close(self) -> None:
        pass


class AgentrlSource:
    """The toy's scripted-expert samples as agentrl's SFT builds them for a sft_ablation row (text only)."""

    def __init__(self, demos_cls: Any, row: dict[str, Any], tokenizer: Any, eval_seed0: int) -> None:
        self.demos, self.eval_seed0 = demos_cls(row, tokenizer), eval_seed0
        self.vocab_size = -(-len(tokenizer) // 64) * 64

    def train(self, seed: int = 0) -> Iterator[Sample]:
        for s in self.demos.stream(seed):
            yield list(s.input_ids), list(s.loss_mask)

    def held_out(self, n: int) -> list[tuple[list[int], list[int]]]:
        out = []
        for seed in range(self.eval_seed0, self.eval_seed0 + n):
            s = self.demos.held_out(seed)
            k = len(s.input_ids) - s.num_trainable
            out.append((list(s.input_ids[:k]), list(s.input_ids[k:])))
        return out

    def close(self) -> None:
        self.demos.close()


class Retokenized:
    """An AgentrlSource's samples as text, re-encoded with the probe's tokenizer (words, punctuation, spaces
    and whole integers one token each): the env's samples in the probe's tokens."""

    def __init__(self, source: AgentrlSource, tokenizer: Any) -> None:
        self.source, self.tok = source, tokenizer
        seen = {t for p, a in source.held_out(300) for t in self._split(p) + self._split(a)}
        self.itos = sorted(seen | {str(i) for i in range(260)} | set(WORDS))
        self.stoi = {c: i + 1 for i, c in enumerate(self.itos)}
        self.vocab_size = len(self.itos) + 1
        self.source.eval_seed0 += 300  # the vocabulary's prompts are not the held-out ones

    def _split(self, ids: list[int]) -> list[str]:
        return ProbeSource.split(self.tok.decode(ids))

    def _enc(self, ids: list[int]) -> list[int]:
        return [self.stoi[t] for t in self._split(ids)]

    def train(self, seed: int = 0) -> Iterator[Sample]:
        for ids, mask in self.source.train(seed):
            k = mask.index(1)
            p, a = self._enc(ids[:k]), self._enc(ids[k:])
            yield p + a, [0] * len(p) + [1] * len(a)

    def held_out(self, n: int) -> list[tuple[list[int], list[int]]]:
        return [(self._enc(p), self._enc(a)) for p, a in self.source.held_out(n)]

    def close(self) -> None:
        self.source.close()


# -- models ------------------------------------------------------------------------------------------------
class Block(nn.Module):
    def __init__(self, d: int, h: int) -> None:
        super().__init__()
        self.ln1, self.ln2 = nn.LayerNorm(d), nn.LayerNorm(d)
        self.att = nn.MultiheadAttention(d, h, batch_first=True)
        self.mlp = nn.Sequential(nn.Linear(d, 4 * d), nn.GELU(), nn.Linear(4 * d, d))

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        a = self.ln1(x)
        x = x + self.att(a, a, a, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.ln2(x))


class RopeAttention(nn.Module):
    """Causal self-attention with rotary positions (RoPE, base `theta`), as Qwen's, in place of the
    probe's learned absolute positions."""

    def __init__(self, d: int, h: int, theta: float) -> None:
        super().__init__()
        self.h, self.qkv, self.out = h, nn.Linear(d, 3 * d), nn.Linear(d, d)
        hd = d // h
        self.register_buffer(
            "inv_freq", 1.0 / theta ** (torch.arange(0, hd, 2).float() / hd), persistent=False
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        b, t, d = x.shape
        q, k, v = self.qkv(x).view(b, t, 3, self.h, d // self.h).permute(2, 0, 3, 1, 4)
        ang = torch.arange(t).float()[:, None] * self.inv_freq  # (t, hd/2): angle = position * frequency
        cos, sin = ang.cos().repeat(1, 2), ang.sin().repeat(1, 2)

        def rot(z: torch.Tensor) -> torch.Tensor:  # z cos + rotate_half(z) sin
            z1, z2 = z.chunk(2, dim=-1)
            return z * cos + torch.cat((-z2, z1), dim=-1) * sin

        y = F.scaled_dot_product_attention(rot(q), rot(k), v, is_causal=True)
        return self.out(y.transpose(1, 2).reshape(b, t, d))


class SwiGLU(nn.Module):
    """Qwen's MLP: down(silu(gate(x)) * up(x)), no biases."""

    def __init__(self, d: int, hidden: int) -> None:
        super().__init__()
        self.gate, self.up = nn.Linear(d, hidden, bias=False), nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.down(F.silu(self.gate(x)) * self.up(x))


class RopeBlock(Block):
    """The probe's block with RoPE; `qwen` names the parts of Qwen's block it takes too: "rms" (RMSNorm),
    "swiglu" (SwiGLU MLP of width 3d, the tiny preset's 384 at d 128)."""

    def __init__(self, d: int, h: int, theta: float, qwen: frozenset[str] = frozenset()) -> None:
        super().__init__(d, h)
        self.att = RopeAttention(d, h, theta)
        if "rms" in qwen:
            self.ln1, self.ln2 = nn.RMSNorm(d, eps=1e-6), nn.RMSNorm(d, eps=1e-6)
        if "swiglu" in qwen:
            self.mlp = SwiGLU(d, 3 * d)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        x = x + self.att(self.ln1(x))
        return x + self.mlp(self.ln2(x))


class ProbeGPT(nn.Module):
    """The probe's model; with `rope_theta`, RoPE in every attention in place of learned positions (the one
    change towards Qwen's positions)."""

    def __init__(
        self,
        vocab: int,
        d: int = 128,
        layers: int = 4,
        heads: int = 4,
        rope_theta: float = 0.0,
        qwen: frozenset[str] = frozenset(),
    ) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d)
        self.pos = None if rope_theta else nn.Embedding(512, d)
        self.blocks = nn.ModuleList(
            RopeBlock(d, heads, rope_theta, qwen) if rope_theta else Block(d, heads) for _ in range(layers)
        )
        self.ln = nn.RMSNorm(d, eps=1e-6) if "rms" in qwen else nn.LayerNorm(d)
        self.head = nn.Linear(d, vocab)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        t = idx.shape[1]
        mask = torch.triu(torch.ones(t, t, dtype=torch.bool), 1)
        x = self.tok(idx) if self.pos is None else self.tok(idx) + self.pos(torch.arange(t))
        for b in self.blocks:
            x = b(x, mask)
        return self.head(self.ln(x))


class TinyLM(nn.Module):
    """agentrl's tiny preset (Qwen2.5-VL) on input ids only, returning logits."""

    def __init__(self, vocab: int, change: dict[str, Any]) -> None:
        super().__init__()
        from transformers import Qwen2_5_VLForConditionalGeneration

        from agentrl.models.factory import PRESETS, model_config

        change = dict(change)
        embed_std = change.pop("embed_std", None)
        v = -(-(vocab + 8) // 64) * 64  # room for the special ids the config names
        names = ["<|endoftext|>", "<|im_end|>", "<|image_pad|>", "<|video_pad|>", "<|vision_start|>",
                 "<|vision_end|>"]  # fmt: skip
        ids = {n: v - 1 - i for i, n in enumerate(names)}
        cfg = model_config(PRESETS["tiny"], v, ids)
        text = cfg.get_text_config()
        for k, val in change.items():
            if k == "rope_theta":
                text.rope_parameters["rope_theta"] = val
            else:
                setattr(text, k, val)
                if k in ("tie_word_embeddings", "initializer_range"):
                    setattr(cfg, k, val)
        self.model = Qwen2_5_VLForConditionalGeneration(cfg).to(torch.float32)
        if embed_std is not None:
            nn.init.normal_(self.model.get_input_embeddings().weight, std=embed_std)

    def forward(self, idx: torch.Tensor) -> torch.Tensor:
        return self.model(input_ids=idx, use_cache=False).logits


def make_model(name: str, vocab: int) -> nn.Module:
    torch.manual_seed(0)
    if name == "probe":
        return ProbeGPT(vocab)
    if name.startswith("probe-rope"):  # probe-rope1e6: Qwen's base; probe-rope1e6-rms-swiglu: + Qwen's parts
        theta, *parts = name.removeprefix("probe-rope").split("-")
        return ProbeGPT(vocab, rope_theta=float(theta), qwen=frozenset(parts))
    if name in TINY_VARIANTS:
        return TinyLM(vocab, TINY_VARIANTS[name])
    raise ValueError(f"model: unknown '{name}'; allowed: probe, probe-rope<base>, {', '.join(TINY_VARIANTS)}")


def make_optim(name: str, model: nn.Module, steps: int) -> tuple[torch.optim.Optimizer, Callable[[], None]]:
    """The optimizer and its step (with clipping and the schedule where the name has them)."""
    params = list(model.parameters())
    name, _, lr_text = name.partition("@")  # probe@2e-3: the probe's optimizer at another lr
    if name == "probe":
        opt = torch.optim.AdamW(params, lr=float(lr_text or 1e-3), weight_decay=0.01)
        return opt, opt.step
    if name != "agentrl":
        raise ValueError(f"optim: unknown '{name}'; allowed: probe, agentrl")
    from agentrl.train.schedule import warmup_cosine

    opt = torch.optim.AdamW(params, lr=1e-3, betas=(0.9, 0.95), weight_decay=0.01)
    sched = torch.optim.lr_scheduler.LambdaLR(opt, warmup_cosine(20, steps, 0.1))

    def step() -> None:
        torch.nn.utils.clip_grad_norm_(params, 1.0)
        opt.step()
        sched.step()

    return opt, step


def batch(samples: list[Sample]) -> tuple[torch.Tensor, torch.Tensor]:
    t = max(len(ids) for ids, _ in samples)
    x, m = torch.zeros(len(samples), t, dtype=torch.long), torch.zeros(len(samples), t)
    for i, (ids, mask) in enumerate(samples):
        x[i, : len(ids)], m[i, : len(ids)] = torch.tensor(ids), torch.tensor(mask, dtype=torch.float)
    return x, m


@torch.no_grad()
def exact(model: nn.Module, held: list[tuple[list[int], list[int]]]) -> float:
    """Share of held-out prompts whose greedy continuation is the expert's response, token for token."""
    model.eval()
    ok = 0
    for prompt, answer in held:
        ids = list(prompt)
        for want in answer:
            nxt = int(model(torch.tensor([ids]))[0, -1].argmax())
            if nxt != want:
                break
            ids.append(nxt)
        else:
            ok += 1
    model.train()
    return ok / len(held)


def run(model_name: str, source: Any, optim_name: str, steps: int, eval_every: int, eval_n: int,
        batch_size: int = 32, log: Callable[[str], None] = print, seed: int | None = None) -> dict[str, Any]:  # fmt: skip
    if seed is not None:  # rows before 2026-12-07 16:50 ran unseeded: each from its own random init
        torch.manual_seed(seed)
    model = make_model(model_name, source.vocab_size)
    opt, opt_step = make_optim(optim_name, model, steps)
    held = source.held_out(eval_n)
    stream = source.train() if seed is None else source.train(seed + 1)
    curve, losses, t0 = [], [], time.monotonic()
    for step in range(1, steps + 1):
        x, m = batch([next(stream) for _ in range(batch_size)])
        logits = model(x[:, :-1])
        nll = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), x[:, 1:].reshape(-1), reduction="none")
        loss = (nll * m[:, 1:].reshape(-1)).sum() / m[:, 1:].sum()  # mean NLL over response tokens
        opt.zero_grad()
        loss.backward()
        opt_step()
        losses.append(loss.item())
        if step % eval_every == 0 or step == steps:
            e = exact(model, held)
            mean = sum(losses[-eval_every:]) / len(losses[-eval_every:])
            curve.append({"step": step, "samples": step * batch_size, "exact": e, "loss": round(mean, 4),
                          "seconds": round(time.monotonic() - t0, 1)})  # fmt: skip
            log(f"  {model_name}/{optim_name} step {step} loss {mean:.3f} exact {e:.2f} "
                f"{time.monotonic() - t0:.0f}s")  # fmt: skip
    assert math.isfinite(losses[-1])
    return {"curve": curve, "final_exact": curve[-1]["exact"], "eval_prompts": eval_n, "seed": seed,
            "params": sum(p.numel() for p in model.parameters())}  # fmt: skip
