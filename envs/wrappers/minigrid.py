"""MiniGrid tasks (the `minigrid` package) through GymImageEnv, with a scripted expert.

The agent sees the full rendered grid (160x160 for the 5x5 rooms) and turns and moves with keys:
left/right turn, up moves forward, space toggles (doors), p picks up, d drops. The expert plans a shortest
path to the goal square over (cell, heading) states from the privileged grid.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from envs.actions import Action, format_response
from envs.wrappers.gym_image import GymImageEnv

KEYS = {"left": 0, "right": 1, "up": 2, "p": 3, "d": 4, "space": 5}
DIRS = ((1, 0), (0, 1), (-1, 0), (0, -1))  # MiniGrid's agent_dir 0..3: right, down, left, up
TASKS = {"empty-5x5": "MiniGrid-Empty-5x5-v0", "empty-random-6x6": "MiniGrid-Empty-Random-6x6-v0"}


class MiniGridEnv(GymImageEnv):
    def __init__(self, gym_id: str = "MiniGrid-Empty-5x5-v0", **kwargs: Any) -> None:
        import minigrid  # noqa: F401 - registers the MiniGrid-* ids with gymnasium

        super().__init__(gym_id, keys=KEYS, **kwargs)

    def expert_action(self) -> str:
        key = self._shortest_path_key()
        return format_response(Action("hotkey", key=key), f"I press {key} on the way to the green goal.")

    def _shortest_path_key(self) -> str:
        grid = self.inner.unwrapped.grid
        start = (*self.inner.unwrapped.agent_pos, self.inner.unwrapped.agent_dir)
        first: dict[tuple[int, int, int], str | None] = {start: None}
        queue = deque([start])
        while queue:
            x, y, d = queue.popleft()
            cell = grid.get(x, y)
            if cell is not None and cell.type == "goal":
                return first[(x, y, d)] or "up"
            dx, dy = DIRS[d]
            ahead = grid.get(x + dx, y + dy)
            moves = [("left", (x, y, (d - 1) % 4)), ("right", (x, y, (d + 1) % 4))]
            if ahead is None or ahead.can_overlap():
                moves.append(("up", (x + dx, y + dy, d)))
            for key, state in moves:
                if state not in first:
                    first[state] = first[(x, y, d)] or key
                    queue.append(state)
        return "up"  # no path: move on (the episode will truncate)


def register_all() -> None:
    from envs.registry import EnvSpec, register

    for name, gym_id in TASKS.items():
        register(
            EnvSpec(
                id=f"agentrl/gym.minigrid-{name}-v0",
                entry_point="envs.wrappers.minigrid:MiniGridEnv",
                kind="gym",
                source="envs.wrappers.minigrid",
                kwargs={"gym_id": gym_id},
                has_expert=True,
                tags=("gym", "minigrid"),
            )
        )
