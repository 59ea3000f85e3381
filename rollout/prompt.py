"""Token-in/token-out prompts for multi-turn episodes, in Qwen2.5-VL's chat format.

A prompt is a list of segments, each tokenised once when it is created: the system block, one user block
per observation (a full variant with the screenshot and element list, and a text-only variant for turns
older than the last K screenshots), and the model's responses as the engine's token ids, verbatim. The
prompt for turn t+1 is the concatenation — generated text is never re-tokenised, so PPO ratios are
computed on exactly the tokens that were sampled.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IMAGE_BLOCK = "<|vision_start|><|image_pad|><|vision_end|>"

SYSTEM_PROMPTS = {
    # In the spirit of UI-TARS-1.5's computer-use prompt: output format, action space, notes.
    "uitars": (
        "You are a GUI agent. You are given a task, your action history and screenshots. "
        "Perform the next action to complete the task.\n\n"
        "## Output Format\nThought: ...\nAction: ...\n\n"
        "## Action Space\n"
        "click(start_box='(x,y)')\n"
        "left_double(start_box='(x,y)')\n"
        "right_single(start_box='(x,y)')\n"
        "drag(start_box='(x1,y1)', end_box='(x2,y2)')\n"
        "hotkey(key='ctrl c')\n"
        "type(content='xxx') # escape \\' and \\n; end with \\n to submit\n"
        "scroll(start_box='(x,y)', direction='down or up or right or left')\n"
        "wait()\n"
        "finished(content='xxx')\n\n"
        "## Note\n- Coordinates are pixels of the screenshot.\n"
        "- Write a short plan in Thought, then one action."
    ),
    # For from-scratch tiny models: the same grammar, few tokens.
    "compact": (
        "You are a GUI agent. Answer with Thought: ... then Action: one of click(start_box='(x,y)') "
        "left_double(start_box='(x,y)') right_single(start_box='(x,y)') drag(start_box='(x,y)', end_box='(x,y)') "
        "hotkey(key='') type(content='') scroll(start_box='(x,y)', direction='down') wait() finished(content='')"
    ),
}
# For from-scratch models that learn the grammar from demonstrations: the prompt is pure cost, keep it short.
SYSTEM_PROMPTS["minimal"] = "You are a GUI agent. Reply with Thought: ... then Action: ..."
SHELL_NOTE = "\nshell(command='...') # runs in the task's home directory; its output comes back as text"


@dataclass
class ObservationBlock:
    full_ids: list[int]  # with the screenshot and element list
    text_ids: list[int]  # the same turn once its screenshot has left the window
    image_ref: str | None
    before: str = ""  # the texts, for chat-message engines (OpenAI-compatible endpoints)
    after: str = ""
    text_only: str = ""


@dataclass
class PromptBuilder:
    """Accumulates an episode's segments and renders the prompt for the next turn."""

    tokenizer: Any
    history_images: int = 1  # K: the last K observations keep their screenshot and element list
    system: list[int] = field(default_factory=list)
    observations: list[ObservationBlock] = field(default_factory=list)
    responses: list[list[int]] = field(
        default_factory=list
    )  # verbatim engine ids, plus a closing im_end if cut
    system_text: str = ""
    response_texts: list[str] = field(default_factory=list)

    def _ids(self, text: str) -> list[int]:
        return list(self.tokenizer.encode(text, add_special_tokens=False))

    def set_system(self, text: str) -> None:
        self.system_text = text
        self.system = self._ids(f"<|im_start|>system\n{text}<|im_end|>\n")

    def add_observation(
        self, body_before_image: str, body_after_image: str, image_ref: str | None, text_only_body: str
    ) -> None:
        """One user turn: text, then the screenshot, then more text (e.g. the element list)."""
        head = "<|im_start|>user\n"
        tail = "<|im_end|>\n<|im_start|>assistant\n"
        image = IMAGE_BLOCK if image_ref else ""
        self.observations.append(
            ObservationBlock(
                full_ids=self._ids(head + body_before_image + image + body_after_image + tail),
                text_ids=self._ids(head + text_only_body + tail),
                image_ref=image_ref,
                before=body_before_image,
                after=body_after_image,
                text_only=text_only_body,
            )
        )

    def add_response(self, token_ids: list[int], eos_id: int, text: str = "") -> None:
        closing = [] if token_ids and token_ids[-1] == eos_id else [eos_id]
        self.responses.append(list(token_ids) + closing + self._ids("\n"))
        self.response_texts.append(text)

    def render_messages(self) -> list[dict[str, Any]]:
        """The same prompt as chat messages; an image is `{"type": "image", "ref": ...}` in pad order."""
        n = len(self.observations)
        messages: list[dict[str, Any]] = [{"role": "system", "content": self.system_text}]
        for i, obs in enumerate(self.observations):
            if i >= n - max(1, self.history_images):
                parts: list[dict[str, Any]] = [{"type": "text", "text": obs.before}] if obs.before else []
                if obs.image_ref:
                    parts.append({"type": "image", "ref": obs.image_ref})
                if obs.after:
                    parts.append({"type": "text", "text": obs.after})
            else:
                parts = [{"type": "text", "text": obs.text_only}]
            messages.append({"role": "user", "content": parts})
            if i < len(self.response_texts):
                messages.append({"role": "assistant", "content": self.response_texts[i]})
        return messages

    def render(self) -> tuple[list[int], list[str]]:
        """(prompt ids, image refs in pad order) for the next generation."""
        n = len(self.observations)
        ids = list(self.system)
        refs: list[str] = []
        for i, obs in enumerate(self.observations):
            if i >= n - max(1, self.history_images):
                ids += obs.full_ids
                if obs.image_ref:
                    refs.append(obs.image_ref)
            else:
                ids += obs.text_ids
            if i < len(self.responses):
                ids += self.responses[i]
        return ids, refs
