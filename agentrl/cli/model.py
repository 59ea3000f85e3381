"""`agentrl model init|info|generate`: build the tiny policy, describe a model, generate from it."""

from __future__ import annotations

import argparse
import asyncio
import time
from pathlib import Path

from rich.table import Table

from agentrl.cli import UsageError, add_config_args, console
from agentrl.config import StrictModel, load_config
from rollout.engines.config import EngineConfig


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("model", help="build, inspect and run policy models")
    msub = p.add_subparsers(dest="model_command", metavar="ACTION", required=True)

    q = msub.add_parser("init", help="build a Qwen2.5-VL model with random weights and a local tokenizer")
    q.add_argument("out_dir")
    q.add_argument("--preset", default="tiny", help="tiny (~2M parameters, CPU) or small (~40M, GPU)")
    q.add_argument("--seed", type=int, default=0)
    q.add_argument("--force", action="store_true", help="overwrite an existing directory")
    q.set_defaults(func=cmd_init)

    q = msub.add_parser("info", help="parameters, architecture and image-token budget of a model directory")
    q.add_argument("path")
    q.set_defaults(func=cmd_info)

    q = msub.add_parser("generate", help="generate a reply to a prompt with a screenshot through an engine")
    add_config_args(q)
    q.set_defaults(func=cmd_generate)


def cmd_init(args: argparse.Namespace) -> int:
    from agentrl.models.factory import PRESETS, init_model

    if args.preset not in PRESETS:
        raise UsageError(f"--preset: unknown '{args.preset}'; allowed: {', '.join(PRESETS)}")
    out = Path(args.out_dir)
    if (out / "config.json").exists() and not args.force:
        console.print(f"model already at {out} (use --force to rebuild)")
        return 0
    t0 = time.perf_counter()
    init_model(args.preset, out, seed=args.seed)
    console.print(
        f"built [bold]{args.preset}[/] model (seed {args.seed}) in {time.perf_counter() - t0:.1f}s -> {out}"
    )
    return 0


def _require_model_dir(path: str) -> None:
    p = Path(path)
    if p.exists() and not (p / "config.json").exists():
        raise UsageError(f"model: '{path}' has no config.json (build one with: agentrl model init {path})")
    if not p.exists() and (path.startswith((".", "/")) or path.count("/") != 1):
        raise UsageError(f"model: '{path}' does not exist (build one with: agentrl model init {path})")


def cmd_info(args: argparse.Namespace) -> int:
    from agentrl.models.loading import model_info

    _require_model_dir(args.path)
    info = model_info(args.path)
    table = Table(show_header=False, box=None)
    for k, v in info.items():
        table.add_row(k, f"{v:,}" if isinstance(v, int) else str(v))
    console.print(table)
    return 0


def test_screen(text: str = "OK"):
    """A small screen with one button, for smoke generation without an env."""
    from PIL import Image, ImageDraw

    img = Image.new("RGB", (160, 210), "white")
    d = ImageDraw.Draw(img)
    d.rectangle([0, 0, 159, 50], fill=(255, 255, 153))
    d.text((6, 10), f"Click the {text} button.", fill="black")
    d.rectangle([50, 100, 110, 130], fill=(220, 220, 220), outline="black")
    d.text((70, 110), text, fill="black")
    return img


class GenerateConfig(StrictModel):
    """`agentrl model generate`: one prompt with one screenshot through one engine."""

    engine: EngineConfig = EngineConfig()
    prompt: str = "Click the OK button."
    image: str | None = None  # PNG/JPEG path; default: a generated test screen
    max_tokens: int = 24
    temperature: float = 0.0


def cmd_generate(args: argparse.Namespace) -> int:
    from PIL import Image

    from agentrl.models.loading import load_processor
    from rollout.engines.base import GenerationRequest, SamplingConfig
    from rollout.engines.factory import make_engine

    cfg = load_config(GenerateConfig, args.config, args.overrides)
    path = cfg.engine.model
    _require_model_dir(path)
    if cfg.image and not Path(cfg.image).is_file():
        raise UsageError(f"image: '{cfg.image}' is not a file")
    image = Image.open(cfg.image).convert("RGB") if cfg.image else test_screen()
    processor = load_processor(path)
    messages = [{"role": "user", "content": [{"type": "image"}, {"type": "text", "text": cfg.prompt}]}]
    text = processor.apply_chat_template(messages, add_generation_prompt=True)
    ids = processor.tokenizer.encode(text, add_special_tokens=False)
    t0 = time.perf_counter()
    engine = make_engine(cfg.engine)
    started = time.perf_counter() - t0
    sampling = SamplingConfig(max_tokens=cfg.max_tokens, temperature=cfg.temperature, seed=0)

    async def run():
        try:
            return await engine.generate(GenerationRequest(ids, [image], sampling))
        finally:
            await engine.shutdown()

    t1 = time.perf_counter()
    result = asyncio.run(run())
    dt = time.perf_counter() - t1
    kind = cfg.engine.resolved_kind()
    console.print(
        f"[bold]{kind}[/] engine: started in {started:.1f}s; prompt {result.prompt_tokens} tokens "
        f"(image {image.width}x{image.height}); generated {len(result.token_ids)} tokens in {dt:.2f}s "
        f"({result.finish_reason}); mean logprob {sum(result.logprobs) / max(1, len(result.logprobs)):.3f}"
    )
    console.print(f"  reply: {result.text!r}")
    return 0
