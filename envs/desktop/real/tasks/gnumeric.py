"""Gnumeric (the GNOME spreadsheet) tasks on .ods files: fill cells, sum or average a column, fix a value.

The start file is an OpenDocument spreadsheet (written by ods.py); Gnumeric saves it back in place with
Ctrl+S (a CSV it saves only through Save As in its own format, or Data > Export, both dialogs deep). The
checkers parse the saved file (ods.py), so a formula counts by the value Gnumeric stored for it. The sheet's cells are not in the
accessibility tree (Gnumeric draws the grid itself), so the experts go to a cell by typing its reference
in the name box (the entry left of the formula bar, which shows the current cell) and type the content.
"""

from __future__ import annotations

import random
import re
from pathlib import Path

from envs.desktop.real.apps import AppLaunch
from envs.desktop.real.tasks.base import (
    Episode,
    RealTask,
    StartFileError,
    Step,
    click,
    hotkey,
    type_text,
    wait,
)
from envs.desktop.real.tasks.ods import read_ods, write_ods
from envs.desktop.real.view import RealElement, RealView
from envs.desktop.tasks import words

APP = "gnumeric"
CELL = re.compile(r"^[A-Z]{1,2}[0-9]{1,4}$")


def cell_ref(col: int, row: int) -> str:
    """0-based column and row -> 'B7'."""
    return chr(ord("A") + col) + str(row + 1)


def number(s: str) -> float | None:
    try:
        return float(s.replace(",", ""))
    except ValueError:
        return None


def name_box(view: RealView) -> RealElement | None:
    boxes = [e for e in view.elements if e.app == APP and e.role == "textbox" and "Gnumeric" in e.window]
    return min(boxes, key=lambda e: (e.x, e.y)) if boxes else None


def fill_cells_step(ep: Episode, view: RealView, cells: list[tuple[str, str]]) -> Step:
    """Go to each cell by the name box and type its content; then save. `ep.memo['filled']` counts."""
    if view.window(APP, "file chooser") or view.alerts():
        return dialog_step(view)
    filled = ep.memo.setdefault("filled", 0)
    box = name_box(view)
    if box is None:
        return wait("The spreadsheet is not showing yet; I wait.")
    if filled < len(cells):
        ref, content = cells[filled]
        if box.value != ref:
            # the name box does not report its focus: click it, select its text, type over it
            stage = ep.memo.get("nav", 0) if ep.memo.get("nav_ref") == ref else 0
            ep.memo["nav_ref"], ep.memo["nav"] = ref, (stage + 1) % 3
            if stage == 0:
                return click(box, f"I click the name box to go to cell {ref}.")
            if stage == 1:
                return hotkey("ctrl a", "I select the cell reference in the name box.")
            return type_text(ref + "\n", f"I type {ref} in the name box to select that cell.")
        ep.memo["filled"] = filled + 1
        return type_text(content + "\n", f"I type {content} into {ref}.")
    ep.memo["saves"] = ep.memo.get("saves", 0) + 1
    if ep.memo["saves"] > 1 and ep.memo["saves"] % 3 != 1:
        return wait("I wait for the file to be written.")
    return hotkey("ctrl s", "Every cell is filled; I save with Ctrl+S.")


def dialog_step(view: RealView) -> Step:
    """A dialog over the sheet (a question about the save): confirm it."""
    for alert in view.alerts():
        button = next((e for e in view.elements if e.app == APP and e.role == "button" and e.window == alert.name
                       and e.text in ("Replace", "Yes", "OK", "Save")), None)  # fmt: skip
        if button is not None:
            return click(button, f"Gnumeric asks '{alert.name}'; I confirm with {button.text}.")
    return hotkey("Return", "Gnumeric asks about the save; I confirm with Enter.")


class GnumericTask(RealTask):
    apps = (APP,)
    max_steps = 20

    def saved_rows(self, ep: Episode, view: RealView) -> list[list[str]] | None:
        return read_ods(view.home / ep.goal["filename"])


def _table(rng: random.Random, n: int) -> tuple[list[str], list[int]]:
    items = rng.sample(words.GROCERIES, n)
    return items, [rng.randint(1, 60) for _ in items]


def _write_table(home: Path, name: str, header: list[str], rows: list[list[object]]) -> None:
    try:
        write_ods(home / name, [list(header), *rows])
    except OSError as e:
        raise StartFileError(f"reset: cannot write start file {home / name}: {e.strerror or e}") from e


class SumColumn(GnumericTask):
    name = "gnumeric.sum-column"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["stock", "order", "pantry", "sales"]) + ".ods"
        items, qty = _table(rng, rng.randint(3, 7))
        _write_table(home, filename, ["item", "qty"], [[i, q] for i, q in zip(items, qty)])
        total_row = len(items) + 1  # 0-based: below the last item
        instruction = (f"In Gnumeric, put the total of the qty column of {filename} in cell {cell_ref(1, total_row)} "
                       f"(with 'total' in {cell_ref(0, total_row)}) and save the file.")  # fmt: skip
        goal = {"filename": filename, "row": total_row, "total": sum(qty)}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = self.saved_rows(ep, view)
        r = ep.goal["row"]
        return bool(rows) and len(rows) > r and len(rows[r]) >= 2 and rows[r][0] == "total" and \
            number(rows[r][1]) == ep.goal["total"]  # fmt: skip

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        r = ep.goal["row"]
        cells = [(cell_ref(0, r), "total"), (cell_ref(1, r), f"=SUM(B2:B{r})")]
        return fill_cells_step(ep, view, cells)


class AverageColumn(GnumericTask):
    name = "gnumeric.average-column"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["scores", "marks", "results", "grades"]) + ".ods"
        names = rng.sample(
            ["Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo"], rng.randint(3, 6)
        )
        marks = [rng.randint(40, 100) for _ in names]
        _write_table(home, filename, ["name", "mark"], [[n, m] for n, m in zip(names, marks)])
        target = cell_ref(3, 1)
        instruction = f"In Gnumeric, put the average of the mark column of {filename} in cell {target} and save the file."
        goal = {"filename": filename, "row": 1, "col": 3, "mean": sum(marks) / len(marks), "n": len(marks)}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = self.saved_rows(ep, view)
        r, c = ep.goal["row"], ep.goal["col"]
        if not rows or len(rows) <= r or len(rows[r]) <= c:
            return False
        v = number(rows[r][c])
        return v is not None and abs(v - ep.goal["mean"]) < 0.01

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        n = ep.goal["n"]
        return fill_cells_step(ep, view, [(cell_ref(3, 1), f"=AVERAGE(B2:B{n + 1})")])


class FillColumn(GnumericTask):
    name = "gnumeric.fill-column"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["prices", "invoice", "basket", "shopping"]) + ".ods"
        items, qty = _table(rng, rng.randint(3, 5))
        price = [rng.randint(1, 9) for _ in items]
        _write_table(
            home, filename, ["item", "qty", "price"], [[i, q, p] for i, q, p in zip(items, qty, price)]
        )
        instruction = (f"In Gnumeric, fill column D of {filename} with the cost of each row (qty times price), "
                       "with the header 'cost' in D1, and save the file.")  # fmt: skip
        goal = {"filename": filename, "costs": [q * p for q, p in zip(qty, price)]}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = self.saved_rows(ep, view)
        costs = ep.goal["costs"]
        if not rows or len(rows) < len(costs) + 1 or len(rows[0]) < 4 or rows[0][3] != "cost":
            return False
        return all(len(rows[i + 1]) >= 4 and number(rows[i + 1][3]) == c for i, c in enumerate(costs))

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        cells = [("D1", "cost")] + [
            (f"D{i + 2}", f"=B{i + 2}*C{i + 2}") for i in range(len(ep.goal["costs"]))
        ]
        return fill_cells_step(ep, view, cells)


class FixValue(GnumericTask):
    name = "gnumeric.fix-value"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["stock", "inventory", "counts", "store"]) + ".ods"
        items, qty = _table(rng, rng.randint(3, 7))
        i = rng.randrange(len(items))
        new = rng.choice([v for v in range(1, 99) if v != qty[i]])
        _write_table(home, filename, ["item", "qty"], [[a, q] for a, q in zip(items, qty)])
        instruction = f"In Gnumeric, change the qty of {items[i]} in {filename} to {new} and save the file."
        want = [[a, str(new if j == i else q)] for j, (a, q) in enumerate(zip(items, qty))]
        goal = {"filename": filename, "want": [["item", "qty"], *want], "row": i + 1, "new": new}
        return Episode(instruction, [AppLaunch(APP, (filename,))], goal)

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = self.saved_rows(ep, view)
        return rows is not None and [r[:2] for r in rows if r] == ep.goal["want"]

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        return fill_cells_step(ep, view, [(cell_ref(1, ep.goal["row"]), str(ep.goal["new"]))])


class AddRow(GnumericTask):
    name = "gnumeric.add-row"

    def setup(self, rng: random.Random, home: Path) -> Episode:
        filename = rng.choice(["contacts", "guests", "members", "team"]) + ".ods"
        people = rng.sample(
            ["Ann", "Ben", "Cleo", "Dan", "Eve", "Finn", "Gus", "Hana", "Ivo", "Jon"], rng.randint(3, 6)
        )
        ages = [rng.randint(18, 80) for _ in people]
        _write_table(home, filename, ["name", "age"], [[p, a] for p, a in zip(people[:-1], ages[:-1])])
        instruction = (f"In Gnumeric, add a row for {people[-1]}, age {ages[-1]}, below the last row of {filename} "
                       "and save the file.")  # fmt: skip
        want = [["name", "age"], *[[p, str(a)] for p, a in zip(people, ages)]]
        return Episode(instruction, [AppLaunch(APP, (filename,))], {"filename": filename, "want": want})

    def check(self, ep: Episode, view: RealView) -> bool:
        rows = self.saved_rows(ep, view)
        return rows is not None and [r[:2] for r in rows if r] == ep.goal["want"]

    def expert(self, ep: Episode, view: RealView, shell_ok: bool) -> Step:
        row = len(ep.goal["want"]) - 1
        name, age = ep.goal["want"][-1]
        return fill_cells_step(ep, view, [(cell_ref(0, row), name), (cell_ref(1, row), age)])


GNUMERIC_TASKS = (SumColumn, AverageColumn, FillColumn, FixValue, AddRow)
