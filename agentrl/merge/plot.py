"""Success versus alpha for a two-checkpoint search, drawn as a PNG with Pillow (no plotting dependency)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PIL import Image, ImageDraw

COLORS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f"]
W, H, LEFT, RIGHT, TOP, BOTTOM = 720, 440, 60, 230, 30, 50  # canvas and margins, pixels


def plot_success_vs_alpha(rows: list[dict[str, Any]], names: tuple[str, str], path: Path) -> Path:
    """x: alpha of the second checkpoint (0 = the first alone, 1 = the second alone); y: success rate per
    task (thin) and their mean (thick black)."""
    rows = sorted(rows, key=lambda r: r["alphas"][1])
    img = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(img)
    x0, x1, y0, y1 = LEFT, W - RIGHT, H - BOTTOM, TOP

    def xy(alpha: float, success: float) -> tuple[float, float]:
        return x0 + alpha * (x1 - x0), y0 - success * (y0 - y1)

    for v in (0.0, 0.25, 0.5, 0.75, 1.0):  # grid lines and tick labels
        d.line([xy(0, v), xy(1, v)], fill="#dddddd")
        d.line([xy(v, 0), xy(v, 1)], fill="#dddddd")
        d.text((x0 - 34, xy(0, v)[1] - 6), f"{v:.2f}", fill="black")
        d.text((xy(v, 0)[0] - 10, y0 + 6), f"{v:.2f}", fill="black")
    d.rectangle([x0, y1, x1, y0], outline="black")
    d.text((x0, y0 + 24), f"alpha of {names[1]}  (0 = {names[0]} alone)", fill="black")
    d.text((x0, 8), "success rate on validation seeds vs merge weight", fill="black")
    tasks = list(rows[0]["success"]) if rows else []
    series = [(t, [r["success"][t] for r in rows], COLORS[i % len(COLORS)], 1) for i, t in enumerate(tasks)]
    series.append(("mean", [r["mean"] for r in rows], "black", 3))
    for i, (label, ys, color, width) in enumerate(series):
        pts = [xy(r["alphas"][1], y) for r, y in zip(rows, ys)]
        if len(pts) > 1:
            d.line(pts, fill=color, width=width)
        for px, py in pts:
            d.ellipse([px - 3, py - 3, px + 3, py + 3], fill=color)
        ly = TOP + 16 * i
        d.line([(x1 + 12, ly + 6), (x1 + 32, ly + 6)], fill=color, width=width)
        d.text((x1 + 38, ly), label.split("/")[-1][:28], fill="black")
    path.parent.mkdir(parents=True, exist_ok=True)
    img.save(path)
    return path
