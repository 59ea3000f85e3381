"""galculator tasks: compute with the calculator; the result read from its display (accessibility tree), or
carried into a document or a spreadsheet that the checker reads from the saved file.

galculator takes the keyboard (digits, operators, Enter for =) and shows the result in its display, a
text node in the tree; Ctrl+C copies the display, so the two-app experts copy and paste the result.
"""

from __future__ import annotations

import random
from pathlib import Path

from envs.desktop.real.apps import LEFT, RIGHT, AppLaunch
from envs.desktop.real.tasks.base import Episode, RealTask, Step, click, hotkey, put, read, type_text, wait
from envs.desktop.real.tasks.gnumeric import fill_cells_step, number
from envs.desktop.real.tasks.mousepad import edit_and_save
from envs.desktop.real.tasks.ods import read_ods, write_ods
from envs.desktop.real.view import RealView

APP = "galculator"


def display(view: RealView) -> str | None:
    """The number on galculator's display (None when its window is not showing)."""
    e = next((n for n in view.nodes if n.app == APP and n.role == "text" and n.has("s")), None)
    return None if e is None else " ".join(e.text.split())


def problem(rng: random.Random) -> tuple[str, int]:
    a, b = rng.randint(100, 999), rng.randint(2, 99)  # no negative results
    op = rng.choice("+-*")
    return f"{a}{op}{b}", {"+": a + b, "-": a - b, "*": a * b}[op]


def shown(text: str) -> str:
    return text.replace("*", " × ").replace("-", " − ").replace("+", " + ")


class Compute(RealTask):
    name = "galculator.compute"
    apps = (APP,)
    max_steps = 12

    def setup(self, rng: random.Random, home: Path) -> Episode:
        expr, value = problem(rng)
        instruction = f"Use the calculator to compute {shown(expr)} and leave the result on its display."
        return Episode(instruction, [AppLaunch(APP)], {"expr": expr, "value": value})

    def check(self, ep: Episode, view: RealView) -> bool:
        return display(view) == str(ep.goal["value"])

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return calc_step(ep, view)


def chunks(keys: str) -> list[str]:
    """`keys` cut where a key repeats: galculator drops a key pressed again while its button is still
    drawn pressed, so a repeated key waits for the next step."""
    out = [""]
    for k in keys:
        if k in out[-1]:
            out.append("")
        out[-1] += k
    return out


def calc_step(ep: Episode, view: RealView) -> Step:
    """Clear, then type the expression and '=' on the keyboard, into galculator's window."""
    if view.front != APP:
        e = next((e for e in view.elements if e.app == APP and e.role == "textbox"), None)  # the display
        if e is None:
            return wait("The calculator is not showing yet; I wait.")
        return click(e, "I click the calculator to give it the keyboard.")
    parts = chunks(ep.goal["expr"] + "=")
    typed = ep.memo.get("typed")
    if typed is None or typed >= len(parts):  # not started, or done without the result: start over
        ep.memo["typed"] = 0
        return hotkey("Escape", "I clear the calculator (Escape).")
    ep.memo["typed"] = typed + 1
    return type_text(parts[typed], f"I type {parts[typed]} on the keyboard.")


def compute_first(ep: Episode, view: RealView) -> Step | None:
    """The calculator's steps until its display has shown the result once (then None: carry it over)."""
    if not ep.memo.get("computed"):
        if display(view) != str(ep.goal["value"]):
            return calc_step(ep, view)
        ep.memo["computed"] = True
    return None


class ToMousepad(RealTask):
    """Two apps: the calculator (right) and Mousepad (left) on answer.txt."""

    name = "galculator.to-mousepad"
    apps = (APP, "mousepad")
    max_steps = 16

    def setup(self, rng: random.Random, home: Path) -> Episode:
        expr, value = problem(rng)
        filename = rng.choice(["answer", "result", "total", "sum"]) + ".txt"
        put(home, filename, "")
        instruction = (f"Compute {shown(expr)} with the calculator, then write the result in {filename} "
                       "(open in Mousepad) and save the file.")  # fmt: skip
        apps = [AppLaunch("mousepad", (filename,), LEFT), AppLaunch(APP, (), RIGHT)]
        return Episode(
            instruction, apps, {"expr": expr, "value": value, "filename": filename, "want": str(value)}
        )

    def check(self, ep: Episode, view: RealView) -> bool:
        return (read(view.home / ep.goal["filename"]) or "").strip() == ep.goal["want"]

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        step = compute_first(ep, view)
        if step is not None:
            return step
        if view.front != "mousepad":
            doc = view.find(app="mousepad", role="textbox")
            if doc is not None:
                return click(doc, "The result is on the display; I click into the document.")
        return edit_and_save(ep, view, ep.goal["want"], "I type the result from the calculator's display.")


class ToGnumeric(RealTask):
    """Two apps: the calculator (right) and Gnumeric (left) on a sheet with a labelled empty cell."""

    name = "galculator.to-gnumeric"
    apps = (APP, "gnumeric")
    max_steps = 18

    def setup(self, rng: random.Random, home: Path) -> Episode:
        expr, value = problem(rng)
        filename = rng.choice(["budget", "costs", "totals"]) + ".ods"
        label = rng.choice(["price", "weight", "distance", "amount"])
        write_ods(home / filename, [["what", "value"], [label, ""]])
        instruction = (f"Compute {shown(expr)} with the calculator, put the result in cell B2 of {filename} "
                       "(open in Gnumeric) and save the file.")  # fmt: skip
        apps = [AppLaunch("gnumeric", (filename,), LEFT), AppLaunch(APP, (), RIGHT)]
        return Episode(instruction, apps, {"expr": expr, "value": value, "filename": filename})

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = read_ods(view.home / ep.goal["filename"])
        return bool(rows) and len(rows) > 1 and len(rows[1]) > 1 and number(rows[1][1]) == ep.goal["value"]

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return compute_first(ep, view) or fill_cells_step(ep, view, [("B2", str(ep.goal["value"]))])


GALCULATOR_TASKS = (Compute, ToMousepad, ToGnumeric)
