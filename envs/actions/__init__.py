"""The UI-TARS-1.5 computer-use action space: dataclass, parser, formatter and coordinate mapping."""

from envs.actions.coords import CoordinateMapper, CoordinateSpace, smart_resize
from envs.actions.parse import ParsedResponse, format_action, format_response, parse_action, parse_point
from envs.actions.types import DIRECTIONS, VERBS, Action, ActionError

__all__ = [
    "DIRECTIONS", "VERBS", "Action", "ActionError", "CoordinateMapper", "CoordinateSpace", "ParsedResponse",
    "format_action", "format_response", "parse_action", "parse_point", "smart_resize",
]  # fmt: skip
