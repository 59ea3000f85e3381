"""Calculator tasks: compute an expression; compute one and write the result into the to-do list."""

from __future__ import annotations

import random
from pathlib import Path

from envs.desktop.launch import AppLaunch
from envs.desktop.tasks import words
from envs.desktop.tasks.base import Episode, Step, Task
from envs.desktop.tasks.moves import bring_to_front, click, fill, need
from envs.desktop.tasks.todo import write_todo
from envs.desktop.tkapps.spec import KEY_NAMES, OPERATORS, format_number
from envs.desktop.view import DesktopView


def expression(rng: random.Random) -> tuple[str, str]:
    """('37*12', '444'): two operands and an operator, with a result that is a whole number."""
    op = rng.choice(list(OPERATORS))
    if op == "/":
        b = rng.randint(2, 12)
        a = b * rng.randint(2, 40)
    elif op == "*":
        a, b = rng.randint(2, 99), rng.randint(2, 30)
    else:
        a, b = rng.randint(10, 999), rng.randint(10, 999)
    return f"{a}{op}{b}", format_number(OPERATORS[op](a, b))


def spoken(keys: str) -> str:
    """'37*12' -> '37 * 12', as the history and the instruction write it."""
    for op in OPERATORS:
        keys = keys.replace(op, f" {op} ")
    return keys


def computed(view: DesktopView, keys: str, result: str) -> bool:
    history = view.state("calculator").get("history", [])
    return bool(history) and history[-1] == f"{spoken(keys)} = {result}"


def press_keys(view: DesktopView, keys: str, result: str) -> Step | None:
    """Click the calculator's buttons for `keys` then '='; None once the history shows the result."""
    if computed(view, keys, result):
        return None
    typed = view.state("calculator")["typed"]
    if not keys.startswith(typed):
        key = "C"  # a wrong key: start over
    elif len(typed) < len(keys):
        key = keys[len(typed)]
    else:
        key = "="
    button = need(view, app="calculator", name=f"key_{KEY_NAMES.get(key, key)}")
    return click(button, f"I press {key} on the calculator.")


class CalcCompute(Task):
    name = "calc-compute"
    apps = ("calculator",)
    max_steps = 14

    def setup(self, rng: random.Random, home: Path) -> Episode:
        keys, result = expression(rng)
        instruction = f"Use the Calculator to compute {spoken(keys)}."
        return Episode(instruction, [AppLaunch("calculator")], {"keys": keys, "result": result})

    def check(self, ep: Episode, view: DesktopView) -> bool:
        calc = view.state("calculator")
        return computed(view, ep.goal["keys"], ep.goal["result"]) and calc["display"] == ep.goal["result"]

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        step = bring_to_front(view, "calculator", "Calculator") or press_keys(
            view, ep.goal["keys"], ep.goal["result"]
        )
        assert step is not None, "the checker ends the episode once the result is shown"
        return step


class CalcToTodo(Task):
    name = "calc-to-todo"
    apps = ("calculator", "todo")
    max_steps = 24

    def setup(self, rng: random.Random, home: Path) -> Episode:
        keys, result = expression(rng)
        write_todo(
            home,
            [{"text": t, "done": rng.random() < 0.3} for t in rng.sample(words.ITEMS, rng.randint(1, 4))],
        )
        instruction = f"Compute {spoken(keys)} with the Calculator, then add the result as a new item in the To-do list."
        return Episode(
            instruction, [AppLaunch("todo"), AppLaunch("calculator")], {"keys": keys, "result": result}
        )

    def check(self, ep: Episode, view: DesktopView) -> bool:
        items = [i["text"] for i in view.state("todo").get("items", [])]
        return computed(view, ep.goal["keys"], ep.goal["result"]) and ep.goal["result"] in items

    def expert(self, ep: Episode, view: DesktopView, shell_ok: bool) -> Step:
        g = ep.goal
        if not computed(view, g["keys"], g["result"]):
            step = bring_to_front(view, "calculator", "Calculator") or press_keys(
                view, g["keys"], g["result"]
            )
            assert step is not None
            return step
        step = bring_to_front(view, "todo", "To-do") or fill(view, "todo", "new_item", g["result"])
        return step or click(need(view, app="todo", name="add"), "I click Add.")
