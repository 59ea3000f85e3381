"""One trajectory as a self-contained HTML page: instruction, outcome, and per turn the screenshot the
policy acted on (inline PNG, the click point marked), its response text, parsed action, reward and any
action error. For many episodes with filters, see `agentrl view` (agentrl.eval)."""

from __future__ import annotations

import base64
import html
import json

from rollout.trajectory import Trajectory, png_bytes

STYLE = """body{font-family:sans-serif;margin:2em;max-width:1100px}
.turn{display:flex;gap:1.5em;border-top:1px solid #ccc;padding:1em 0}
.shot{position:relative;flex:none}.shot img{border:1px solid #999;image-rendering:pixelated}
.mark{position:absolute;width:12px;height:12px;margin:-7px 0 0 -7px;border:2px solid red;border-radius:50%}
pre{white-space:pre-wrap;background:#f6f6f6;padding:.5em}.ok{color:#080}.bad{color:#b00}"""


def _points(action: dict | None) -> list[tuple[int, int]]:
    if not action:
        return []
    return [tuple(action[k]) for k in ("start", "end") if action.get(k) is not None]


def trajectory_html(t: Trajectory, scale: int = 2) -> str:
    """The page; screenshots drawn `scale` times their size (small UI screens)."""
    e = html.escape
    outcome = f'<b class="{"ok" if t.success else "bad"}">{"success" if t.success else "failure"}</b>'
    parts = [
        f"<!doctype html><meta charset='utf-8'><title>{e(t.env_id)} {e(t.id[:12])}</title><style>{STYLE}</style>",
        f"<h1>{e(t.env_id)} seed {t.seed}</h1><p><b>Instruction:</b> {e(t.instruction)}</p>",
        f"<p>{outcome}, return {t.reward:g}, {t.num_steps} turns, status {e(t.status)}"
        + (f" ({e(t.reason)})" if t.reason else "")
        + f"<br><small>id {e(t.id)}</small></p>",
    ]
    for i, u in enumerate(t.turns, 1):
        shot = ""
        if u.image_refs:
            img = t.images[u.image_refs[-1]]
            h, w = img.shape[:2]
            b64 = base64.b64encode(png_bytes(img)).decode()
            marks = "".join(
                f'<div class="mark" style="left:{x * scale}px;top:{y * scale}px"></div>'
                for x, y in _points(u.action)
            )
            shot = f'<div class="shot"><img width="{w * scale}" height="{h * scale}" src="data:image/png;base64,{b64}">{marks}</div>'
        action = (
            e(json.dumps(u.action)) if u.action else f'<span class="bad">invalid: {e(u.action_error)}</span>'
        )
        parts.append(
            f'<div class="turn">{shot}<div><h3>Turn {i}</h3><pre>{e(u.text)}</pre>'
            f"<p><b>Action:</b> {action}<br><b>Reward:</b> {u.reward:g} &middot; policy version {u.policy_version}"
            f"{'<br><b>Error:</b> ' + e(u.action_error) if u.action_error and u.action else ''}</p></div></div>"
        )
    return "\n".join(parts) + "\n"
