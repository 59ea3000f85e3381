"""The ReAct agent: observation -> prompt -> engine -> Thought/Action -> env step, for one episode.

The agent owns the model's view of the screen. Element centres are shown, and actions are read, in the
model's coordinate frame (`coordinate_space`: screen pixels, Qwen2.5-VL smart-resized pixels, or relative
0..1000) and mapped back to screen pixels before the env sees them. A response that does not parse goes to
the env as text, so the env counts the step and reports `action_error`, which the model reads next turn.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from agentrl.config import StrictModel
from envs.actions import Action, ActionError, CoordinateMapper, CoordinateSpace, parse_action
from envs.core.elements import Element, format_elements
from rollout.engines.base import GenerationResult, SamplingConfig
from rollout.prompt import SHELL_NOTE, SYSTEM_PROMPTS, PromptBuilder
from rollout.trajectory import Trajectory

ObservationMode = Literal["screenshot", "screenshot+elements", "elements"]


class AgentConfig(StrictModel):
    """How the agent shows the episode to the model. Defaults suit the tiny model, which clicks by copying
    coordinates from the element list shown beside the screenshot."""

    observation: ObservationMode = "screenshot+elements"
    history_images: int = 1  # K: last K observations in full (screenshot, elements); older ones as text
    coordinate_space: CoordinateSpace = "screen"
    system_prompt: Literal["uitars", "compact", "minimal"] = (
        "minimal"  # uitars for UI-TARS/Qwen2.5-VL checkpoints
    )
    max_steps: int = 10  # per episode, on top of the env's own budget
    sampling: SamplingConfig = SamplingConfig()
    min_pixels: int = 4 * 28 * 28  # for coordinate_space=smart_resize: the processor's bounds
    max_pixels: int = 256 * 28 * 28


@dataclass
class ParsedTurn:
    action: Action | None  # in screen pixels; None when the response did not parse
    env_input: Action | str  # what to pass to env.step
    thought: str = ""
    error: str = ""


@dataclass
class ReActAgent:
    """Per-episode state: `start`, then per turn `prompt` -> engine -> `act` -> env.step -> `observe`."""

    tokenizer: Any
    cfg: AgentConfig
    allow_shell: bool = False
    builder: PromptBuilder = field(init=False)
    mapper: CoordinateMapper | None = field(init=False, default=None)
    eos_id: int = field(init=False)

    def __post_init__(self) -> None:
        self.builder = PromptBuilder(self.tokenizer, history_images=self.cfg.history_images)
        self.eos_id = self.tokenizer.convert_tokens_to_ids("<|im_end|>")
        self.builder.set_system(
            SYSTEM_PROMPTS[self.cfg.system_prompt] + (SHELL_NOTE if self.allow_shell else "")
        )

    def start(self, traj: Trajectory, obs: dict[str, Any], info: dict[str, Any]) -> None:
        h, w = obs["screenshot"].shape[:2]
        self.mapper = CoordinateMapper(
            w, h, self.cfg.coordinate_space, self.cfg.min_pixels, self.cfg.max_pixels
        )
        self.observe(traj, obs, info, first=True)

    def observe(
        self, traj: Trajectory, obs: dict[str, Any], info: dict[str, Any], first: bool = False
    ) -> None:
        assert self.mapper is not None
        head = f"Instruction: {obs['instruction']}\n" if first else ""
        if not first and info.get("action_error"):
            head += f"Your last action was invalid: {info['action_error']}\n"
        if info.get("feedback"):
            head += f"Output:\n{info['feedback']}\n"
        ref = None
        if self.cfg.observation != "elements":
            ref = traj.add_image(obs["screenshot"])
        tail = ""
        if self.cfg.observation != "screenshot" and info.get("elements"):
            elements = [Element.from_dict(e) for e in info["elements"]]
            tail = "\nElements:\n" + format_elements(elements, self.mapper.to_model) + "\n"
        self.builder.add_observation(head, tail, ref, text_only_body=head or "(earlier screen)\n")

    def prompt(self) -> tuple[list[int], list[str]]:
        return self.builder.render()

    def messages(self) -> list[dict[str, Any]]:
        return self.builder.render_messages()

    def act(self, result: GenerationResult) -> ParsedTurn:
        """Record the response and parse it into the env's input."""
        assert self.mapper is not None
        self.builder.add_response(result.token_ids, self.eos_id, result.text)
        try:
            parsed = parse_action(result.text)
            action = self.mapper.action_to_screen(parsed.action)
            return ParsedTurn(action, action, parsed.thought)
        except ActionError as e:
            return ParsedTurn(None, result.text, error=str(e))

    @property
    def sampling(self) -> SamplingConfig:
        return self.cfg.sampling
