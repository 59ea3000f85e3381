"""The Trajectory: one episode as the learner needs it, and the one batch type that crosses processes.

Per turn: the prompt token ids the engine saw (one `<|image_pad|>` per image, unexpanded), the sampled
response ids with their logprobs, the text, the parsed action, the reward, the policy version that
generated it, and timings. Images are held by reference (`image_refs`, a content hash) in
`Trajectory.images`, so a screenshot shared by several turns' prompts is stored once.

The loss mask of a turn is its response tokens (`response_mask`); environment tokens (prompts) are never
trained on by PPO. Serialisation is lossless: `Trajectory.from_dict(t.to_dict(), t.images) == t`.
"""

from __future__ import annotations

import hashlib
import io
import json
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

SCHEMA_VERSION = 1

# How an episode that ran out of its step budget says so in `Trajectory.reason` (a prefix): the env's own
# budget (GUIEnv's max_steps), the agent's max_steps, the episode time limit. Any other truncation is an
# environment fault (a page never ready, an app that crashed), which is not the agent's doing.
STEP_BUDGET_REASONS = ("step budget exhausted", "agent step limit", "episode time limit")


def image_ref(image: np.ndarray) -> str:
    """Content hash of an image (shape + bytes), the key it is stored under."""
    a = np.ascontiguousarray(image)
    h = hashlib.sha1(str(a.shape).encode())
    h.update(a.tobytes())
    return h.hexdigest()[:20]


def png_bytes(image: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.asarray(image, dtype=np.uint8)).save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def decode_png(data: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(data)).convert("RGB"), dtype=np.uint8)


@dataclass
class Turn:
    prompt_ids: list[int]
    response_ids: list[int]
    # logprob of each response token under the behaviour policy: the distribution the engine sampled from,
    # log softmax(z / T) at sampling temperature T (raw logits at T = 1 or greedy)
    logprobs: list[float]
    text: str
    image_refs: list[str]  # images of this prompt, in the order of its image pads
    action: dict[str, Any] | None = (
        None  # the parsed action in screen pixels (Action.to_dict), None if invalid
    )
    action_error: str = ""
    reward: float = 0.0
    policy_version: int = 0
    finish_reason: str = "stop"
    timings: dict[str, float] = field(default_factory=dict)  # generate_s, env_s

    @property
    def response_mask(self) -> list[int]:
        """1 for every response token (trained on), as a list aligned with response_ids."""
        return [1] * len(self.response_ids)


@dataclass
class Trajectory:
    env_id: str
    seed: int
    instruction: str
    turns: list[Turn] = field(default_factory=list)
    images: dict[str, np.ndarray] = field(default_factory=dict, repr=False)
    reward: float = 0.0  # episode return
    success: bool = False
    terminated: bool = False
    truncated: bool = False
    status: str = "ok"  # ok | error (engine failed) | aborted (env worker died)
    reason: str = ""  # why it was truncated / errored / aborted
    id: str = field(default_factory=lambda: uuid.uuid4().hex)
    created_at: float = field(default_factory=time.time)
    meta: dict[str, Any] = field(default_factory=dict)  # run, iteration, task tags, ...

    # -- images --------------------------------------------------------------------------------------
    def add_image(self, image: np.ndarray) -> str:
        ref = image_ref(image)
        self.images.setdefault(ref, np.asarray(image, dtype=np.uint8))
        return ref

    def images_for(self, refs: list[str]) -> list[np.ndarray]:
        return [self.images[r] for r in refs]

    def turn_images(self, turn: Turn) -> list[np.ndarray]:
        return self.images_for(turn.image_refs)

    # -- derived -------------------------------------------------------------------------------------
    @property
    def num_steps(self) -> int:
        return len(self.turns)

    @property
    def policy_versions(self) -> list[int]:
        return [t.policy_version for t in self.turns]

    @property
    def num_response_tokens(self) -> int:
        return sum(len(t.response_ids) for t in self.turns)

    @property
    def timed_out(self) -> bool:
        """Ended by its step budget (env or agent max_steps, time limit): a failure of the agent, terminal
        for PPO (nothing follows it to bootstrap from)."""
        return (
            self.status == "ok"
            and self.truncated
            and not self.terminated
            and self.reason.startswith(STEP_BUDGET_REASONS)
        )

    @property
    def env_fault(self) -> bool:
        """Not a verdict on the agent: an engine error, a dead or hung env worker (status != ok), or a
        truncation for any reason other than the step budget. PPO leaves such episodes out (and counts them)."""
        return self.status != "ok" or (self.truncated and not self.terminated and not self.timed_out)

    def actions_key(self) -> str:
        """A canonical string of the action sequence (for dedup of identical trajectories)."""
        return json.dumps([t.action for t in self.turns], sort_keys=True)

    # -- serialisation -------------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe; images are left out (they travel by reference: see `images`)."""
        d = asdict(self)
        d.pop("images")
        d["schema_version"] = SCHEMA_VERSION
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], images: dict[str, np.ndarray] | None = None) -> Trajectory:
        d = dict(d)
        d.pop("schema_version", None)
        turns = [Turn(**t) for t in d.pop("turns")]
        return cls(**d, turns=turns, images=dict(images or {}))

    def save(self, directory: str | Path) -> Path:
        """A self-contained directory: trajectory.json plus one PNG per image (for tests and inspection)."""
        out = Path(directory) / self.id
        out.mkdir(parents=True, exist_ok=True)
        for ref, img in self.images.items():
            (out / f"{ref}.png").write_bytes(png_bytes(img))
        (out / "trajectory.json").write_text(json.dumps(self.to_dict()))
        return out

    @classmethod
    def load(cls, directory: str | Path) -> Trajectory:
        d = Path(directory)
        data = json.loads((d / "trajectory.json").read_text())
        refs = {r for t in data["turns"] for r in t["image_refs"]}
        return cls.from_dict(data, {r: decode_png((d / f"{r}.png").read_bytes()) for r in refs})

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Trajectory):
            return NotImplemented
        return (
            self.to_dict() == other.to_dict()
            and self.images.keys() == other.images.keys()
            and all(np.array_equal(self.images[k], other.images[k]) for k in self.images)
        )
