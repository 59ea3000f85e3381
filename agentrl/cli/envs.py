"""`agentrl envs list|play|check|new`: the registered environments, one episode played (and recorded) in
any of them, the contract checker, and a new env package from the scaffold.

    agentrl envs list --kind browser
    agentrl envs play agentrl/miniwob.click-checkboxes-v0 --seed 3 --policy expert --record out.gif
    agentrl envs check agentrl/toy.click-target-v0 --episodes 5      # or pkg.module:EnvClass
    agentrl envs new my-todo --kind web-app --dir src/              # then: agentrl envs check ...

The GIF shows every screenshot with the action taken on it drawn on top: a red circle where a click
lands (two for a double click, a ring for a right click), an arrow for a drag or scroll, and the typed
text or pressed keys in a caption.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont
from rich.table import Table

from agentrl.cli import UsageError, console, err_console

POLICIES = ("expert", "random")
RED = (230, 20, 20)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("envs", help="list environments, play and record episodes")
    esub = p.add_subparsers(dest="envs_command", metavar="ACTION", required=True)

    q = esub.add_parser(
        "list", help="registered env ids with their kind and whether a scripted expert exists"
    )
    q.add_argument("--kind", help="only this kind (browser, desktop, toy, web-app, ...)")
    q.set_defaults(func=cmd_list)

    q = esub.add_parser("play", help="play one episode with a scripted policy; optionally record a GIF")
    q.add_argument("env_id")
    q.add_argument("--seed", type=int, default=0, help="task seed (non-negative)")
    q.add_argument("--policy", default="expert", help=f"one of: {', '.join(POLICIES)}")
    q.add_argument("--record", metavar="OUT.gif", help="save the episode as an animated GIF")
    q.add_argument("--scale", type=int, default=2, help="GIF magnification (small screens read better)")
    q.add_argument("--max-steps", type=int, help="override the env's step budget")
    q.set_defaults(func=cmd_play)

    q = esub.add_parser(
        "check", help="check an env's contracts (format, determinism, isolation, clean close)"
    )
    q.add_argument("env_id", help="a registered id, or pkg.module:EnvClass")
    q.add_argument(
        "--episodes", type=int, default=3, help="episodes played (with the expert where one exists)"
    )
    q.add_argument("--seed", type=int, default=0, help="first seed")
    q.set_defaults(func=cmd_check)

    q = esub.add_parser("new", help="write a minimal working env package (task, checker, expert, test)")
    q.add_argument("name", help="package name: lower case letters, digits and '-' or '_', e.g. my-todo")
    q.add_argument("--kind", required=True, help="one of: browser, desktop, web-app")
    q.add_argument("--dir", default=".", help="where the package directory is created (default: here)")
    q.set_defaults(func=cmd_new)


def cmd_list(args: argparse.Namespace) -> int:
    import envs
    from envs.plugins import load_errors

    specs = envs.list_envs()
    kinds = sorted({s.kind for s in specs})
    if args.kind is not None and args.kind not in kinds:
        raise UsageError(f"--kind: unknown '{args.kind}'; registered kinds: {', '.join(kinds)}")
    chosen = [s for s in specs if args.kind is None or s.kind == args.kind]
    table = Table(box=None, header_style="bold")
    for col in ("id", "kind", "expert"):
        table.add_column(col)
    for s in chosen:
        table.add_row(s.id, s.kind, "yes" if s.has_expert else "-")
    console.print(table)
    console.print(f"{len(chosen)} envs, {sum(s.has_expert for s in chosen)} with a scripted expert")
    for error in load_errors():
        err_console.print(f"[yellow]plugin not loaded:[/] {error}")
    return 0


STATUS_STYLE = {"pass": "green", "warn": "yellow", "fail": "bold red", "skip": "dim"}


def cmd_check(args: argparse.Namespace) -> int:
    from envs.check import check_env

    spec = _spec(args.env_id)
    if args.episodes < 1:
        raise UsageError(f"--episodes: must be >= 1, got {args.episodes}")
    if args.seed < 0:
        raise UsageError(f"--seed: must be a non-negative integer, got {args.seed}")
    report = check_env(spec.id, episodes=args.episodes, seed=args.seed)
    table = Table(box=None, header_style="bold")
    for col in ("contract", "result", "detail"):
        table.add_column(col, overflow="fold")
    for c in report.contracts:
        detail = c.detail + (f"\n[italic]fix:[/] {c.fix}" if c.fix else "")
        table.add_row(c.name, f"[{STATUS_STYLE[c.status]}]{c.status}[/]", detail)
    console.print(f"[bold]{spec.id}[/] ({spec.kind}, registered by {spec.source})")
    console.print(table)
    failed = report.failed()
    if failed:
        console.print(f"[bold red]{len(failed)} contract(s) failed:[/] {', '.join(c.name for c in failed)}")
        return 1
    console.print("[green]all contracts hold[/]")
    return 0


def cmd_new(args: argparse.Namespace) -> int:
    from envs.scaffold import KINDS, ScaffoldError, write_package

    if args.kind not in KINDS:
        raise UsageError(f"--kind: unknown '{args.kind}'; allowed: {', '.join(KINDS)}")
    try:
        made = write_package(args.name, args.kind, Path(args.dir))
    except ScaffoldError as e:
        raise UsageError(str(e)) from None
    console.print(f"wrote {made.root}/ ({len(made.files)} files): env id [bold]{made.env_id}[/]")
    console.print(f"  check it:   PYTHONPATH={made.root} agentrl envs check {made.module_path}")
    console.print(
        f"  install it: pip install -e {made.root}   (registers {made.env_id} through its entry point)"
    )
    return 0


def cmd_play(args: argparse.Namespace) -> int:
    import envs
    from envs.baselines import RandomClick, expert_policy, run_scripted_episode

    spec = _spec(args.env_id)
    if args.policy not in POLICIES:
        raise UsageError(f"--policy: unknown '{args.policy}'; allowed: {', '.join(POLICIES)}")
    if args.seed < 0:
        raise UsageError(f"--seed: must be a non-negative integer, got {args.seed}")
    if args.policy == "expert" and not spec.has_expert:
        raise UsageError(f"--policy expert: {spec.id} has no scripted expert (try --policy random)")
    if args.record and not args.record.endswith(".gif"):
        raise UsageError(f"--record: the file must end in .gif, got '{args.record}'")
    if args.scale < 1 or (args.max_steps is not None and args.max_steps < 1):
        raise UsageError("--scale and --max-steps must be >= 1")
    kwargs = {} if args.max_steps is None else {"max_steps": args.max_steps}
    env = envs.make(spec.id, **kwargs).unwrapped
    policy = expert_policy if args.policy == "expert" else RandomClick(args.seed)
    try:
        ep = run_scripted_episode(env, policy, args.seed, keep_frames=bool(args.record))
        instruction = env.instruction
    finally:
        env.close()
    console.print(f"[bold]{spec.id}[/] seed {args.seed}: {instruction}")
    for i, action in enumerate(ep.actions, 1):
        console.print(f"  {i:>2}. {action.splitlines()[-1]}")
    verdict = "[green]success[/]" if ep.success else "[red]failure[/]"
    reason = f" ({ep.truncation_reason})" if ep.truncation_reason else ""
    console.print(f"{verdict}: reward {ep.reward:g} in {ep.steps} steps{reason}")
    if args.record:
        save_gif(ep.frames, ep.actions, Path(args.record), args.scale)
        console.print(f"recorded {len(ep.frames)} frames -> {args.record}")
    return 0


def _spec(env_id: str):
    import envs

    try:
        return envs.spec(env_id)
    except envs.UnknownEnvError as e:
        raise UsageError(str(e)) from None


# -- recording ----------------------------------------------------------------------------------------------
def save_gif(
    frames: list[np.ndarray], actions: list[str], out: Path, scale: int = 2, ms_per_frame: int = 700
) -> None:
    """An animated GIF: frame i with action i drawn on it (the last frame shows the end state)."""
    from envs.actions import ActionError, parse_action

    images = []
    for i, frame in enumerate(frames):
        img = Image.fromarray(frame).resize((frame.shape[1] * scale, frame.shape[0] * scale), Image.NEAREST)
        if i < len(actions):
            try:
                draw_action(img, parse_action(actions[i]).action, scale)
            except ActionError:
                _caption(img, "(malformed action)")
        images.append(img.convert("P", palette=Image.ADAPTIVE))
    out.parent.mkdir(parents=True, exist_ok=True)
    durations = [ms_per_frame] * (len(images) - 1) + [ms_per_frame * 3]
    images[0].save(out, save_all=True, append_images=images[1:], duration=durations, loop=0)


def draw_action(img: Image.Image, action, scale: int) -> None:
    """Mark `action` (screen pixels) on `img` (the screen magnified `scale` times)."""
    d = ImageDraw.Draw(img)
    r = 4 * scale

    def at(p: tuple[int, int]) -> tuple[int, int]:
        return p[0] * scale + scale // 2, p[1] * scale + scale // 2

    if action.verb in ("click", "left_double", "right_single"):
        x, y = at(action.start)
        d.ellipse([x - r, y - r, x + r, y + r], outline=RED, width=max(2, scale), fill=None)
        if action.verb == "click":
            d.ellipse([x - r // 2, y - r // 2, x + r // 2, y + r // 2], fill=RED)
        if action.verb == "left_double":
            d.ellipse([x - 2 * r, y - 2 * r, x + 2 * r, y + 2 * r], outline=RED, width=max(1, scale // 2))
    elif action.verb == "drag":
        _arrow(d, at(action.start), at(action.end), scale)
    elif action.verb == "scroll":
        x, y = at(action.start)
        dx, dy = {"up": (0, -1), "down": (0, 1), "left": (-1, 0), "right": (1, 0)}[action.direction]
        _arrow(d, (x, y), (x + dx * 12 * scale, y + dy * 12 * scale), scale)
    if action.verb == "type":
        _caption(img, f"type: {action.content!r}")
    elif action.verb == "hotkey":
        _caption(img, f"key: {action.key}")
    elif action.verb in ("wait", "finished"):
        _caption(img, action.verb + (f": {action.content}" if action.content else ""))


def _arrow(d: ImageDraw.ImageDraw, a: tuple[int, int], b: tuple[int, int], scale: int) -> None:
    d.line([a, b], fill=RED, width=max(2, scale))
    v = np.array(b, float) - np.array(a, float)
    n = float(np.hypot(*v)) or 1.0
    u, w = v / n, np.array([-v[1], v[0]]) / n
    head = 5 * scale
    left = np.array(b) - u * head + w * head / 2
    right = np.array(b) - u * head - w * head / 2
    d.polygon([b, tuple(left), tuple(right)], fill=RED)


def _caption(img: Image.Image, text: str) -> None:
    d = ImageDraw.Draw(img)
    font = ImageFont.load_default(size=max(10, img.width // 22))
    h = font.size + 6
    d.rectangle([0, img.height - h, img.width, img.height], fill=(0, 0, 0))
    d.text((3, img.height - h + 3), text, fill=(255, 255, 255), font=font)
