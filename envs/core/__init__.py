"""The GUI env base class and the element-list observation."""

from envs.core.elements import TEXT_MODES, Element, TextMode, format_elements
from envs.core.gui_env import AnyText, EnvFault, GUIEnv, ResetNeeded, Timings

__all__ = [
    "TEXT_MODES",
    "AnyText",
    "Element",
    "EnvFault",
    "GUIEnv",
    "ResetNeeded",
    "TextMode",
    "Timings",
    "format_elements",
]
