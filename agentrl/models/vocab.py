"""The words a GUI-agent tokenizer must keep whole, and a synthetic corpus to train it on.

A from-scratch model of a few million parameters learns to copy an element's coordinates in CPU minutes
only when a coordinate is one token and so is each word it must match (benchmarks/results/NOTES.md,
"Whole-integer and whole-word tokens"). The tiny tokenizer therefore gets every integer 0..1000 and the
words of `vocab.txt` (beside this module, read at import) as single tokens.
"""

from __future__ import annotations

import random
from importlib.resources import files

MAX_COORD = 1000  # integers 0..MAX_COORD are single tokens (pixels and relative-1000 coordinates)


def read_word_lists(text: str) -> dict[str, list[str]]:
    """The lists of a word file: a `[name]` line starts one, every other line holds one word, `#` starts a
    comment. A word listed twice in one list is refused (it would only skew the corpus)."""
    lists: dict[str, list[str]] = {}
    words: list[str] | None = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            words = lists.setdefault(line[1:-1], [])
        elif line and (words is None or " " in line or line in words):
            why = "outside a [list]" if words is None else "not one word" if " " in line else "listed twice"
            raise ValueError(f"vocab.txt:{n}: {line!r}: {why}")
        elif line:
            words.append(line)
    return lists


_LISTS = read_word_lists((files(__package__) / "vocab.txt").read_text(encoding="utf-8"))
ACTION_WORDS = _LISTS["action"]  # the UI-TARS-1.5 computer-use grammar
ROLE_WORDS = _LISTS["role"]  # element roles: the first word of an element line
UI_WORDS = ROLE_WORDS + _LISTS["ui"]  # roles and labels seen on MiniWoB++ / web-app / desktop screens
INSTRUCTION_WORDS = _LISTS["instruction"]

WORDS: tuple[str, ...] = tuple(dict.fromkeys(ACTION_WORDS + UI_WORDS + INSTRUCTION_WORDS))


def _action_line(rng: random.Random) -> str:
    x, y = rng.randint(0, MAX_COORD), rng.randint(0, MAX_COORD)
    x2, y2 = rng.randint(0, MAX_COORD), rng.randint(0, MAX_COORD)
    word = rng.choice(UI_WORDS)
    return rng.choice(
        [
            f"click(start_box='({x},{y})')",
            f"left_double(start_box='({x},{y})')",
            f"right_single(start_box='({x},{y})')",
            f"drag(start_box='({x},{y})', end_box='({x2},{y2})')",
            f"hotkey(key='{rng.choice(['enter', 'ctrl c', 'ctrl v', 'tab', 'backspace'])}')",
            f"type(content='{word} {rng.choice(UI_WORDS)}')",
            f"scroll(start_box='({x},{y})', direction='{rng.choice(['up', 'down', 'left', 'right'])}')",
            "wait()",
            f"finished(content='{word}')",
            f"click(point='<point>{x} {y}</point>')",
            f"click(start_box='<|box_start|>({x},{y})<|box_end|>')",
        ]
    )


def _element_line(rng: random.Random, i: int) -> str:
    role = rng.choice(ROLE_WORDS)
    return f'[{i}] {role} "{rng.choice(UI_WORDS)}" ({rng.randint(0, 400)},{rng.randint(0, 400)})'


def corpus(seed: int = 0, n_lines: int = 6000) -> list[str]:
    """Deterministic synthetic text covering the action grammar, instructions and UI words."""
    rng = random.Random(seed)
    lines: list[str] = []
    for _ in range(n_lines):
        kind = rng.random()
        if kind < 0.35:
            lines.append(
                f"Thought: {' '.join(rng.choices(INSTRUCTION_WORDS + UI_WORDS, k=6))}.\n"
                f"Action: {_action_line(rng)}"
            )
        elif kind < 0.6:
            lines.append("\n".join(_element_line(rng, i) for i in range(rng.randint(2, 6))))
        elif kind < 0.85:
            words = rng.choices(INSTRUCTION_WORDS, k=3) + rng.choices(UI_WORDS, k=3)
            rng.shuffle(words)
            lines.append(" ".join(words).capitalize() + ".")
        else:
            lines.append(" ".join(rng.choices(UI_WORDS, k=8)))
    # Every word, several times, alone and after a space, so BPE learns each as one token in both forms.
    for word in WORDS:
        lines.extend([word, f" {word}", f"{word.capitalize()} {word}"] * 4)
    return lines
