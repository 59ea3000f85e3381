"""Moving trajectories in and out of the store: JSONL with PNG files, HF `datasets`, external demonstrations.

JSONL export (`export_jsonl`), one directory:

    OUT/trajectories.jsonl   one trajectory a line: `Trajectory.to_dict()` plus "images": {ref: "images/<ref>.png"}
    OUT/images/<ref>.png     each distinct image once

`import_jsonl` reads that format back losslessly (token ids, logprobs, policy versions), and also external
demonstrations that have no token ids, one episode a line:

    {"env_id": "...", "instruction": "...", "seed": 0, "success": true,
     "steps": [{"screenshot": "shots/0.png", "response": "Thought: ...\\nAction: click(start_box='(10,20)')"}]}

(each step may carry "elements", the env's element list `[{"index", "role", "text", "x", "y", "w", "h"}]`,
shown in the prompt as in rollouts with the screenshot+elements observation)

which are tokenised with the policy's tokenizer through the same agent prompt builder that rollouts use
(so they train exactly like the policy's own turns; policy version -1, logprob 0, as scripted experts).
Paths are relative to the JSONL file. A bad line raises `ExchangeError` naming file and line.

HF export (`export_hf`): a `datasets.Dataset` saved with `save_to_disk`, one row per trajectory, built by
a generator (stores larger than memory), screenshots as `datasets.Image` (PNG) and the turns as JSON.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np

from rollout.trajectory import Trajectory, Turn, decode_png, image_ref, png_bytes


class ExchangeError(ValueError):
    pass


# -- JSONL -----------------------------------------------------------------------------------------------
def export_jsonl(trajectories: Iterable[Trajectory], out: str | Path) -> int:
    """Write `trajectories` to OUT/trajectories.jsonl and OUT/images/; returns how many."""
    out = Path(out)
    (out / "images").mkdir(parents=True, exist_ok=True)
    n = 0
    with open(out / "trajectories.jsonl", "w") as f:
        for t in trajectories:
            images = {}
            for ref, img in t.images.items():
                rel = f"images/{ref}.png"
                if not (out / rel).exists():
                    (out / rel).write_bytes(png_bytes(img))
                images[ref] = rel
            f.write(json.dumps({**t.to_dict(), "images": images}) + "\n")
            n += 1
    return n


def _png(base: Path, rel: str, where: str) -> np.ndarray:
    path = base / rel
    try:
        return decode_png(path.read_bytes())
    except FileNotFoundError:
        raise ExchangeError(f"{where}: image file {path} is missing") from None
    except Exception as e:
        raise ExchangeError(f"{where}: image file {path} does not decode ({type(e).__name__})") from None


def _agentrl_line(d: dict[str, Any], base: Path, where: str) -> Trajectory:
    images = {}
    for ref, rel in d.pop("images", {}).items():
        img = _png(base, rel, where)
        if image_ref(img) != ref:
            raise ExchangeError(
                f"{where}: image {base / rel} does not match its ref {ref} (changed since export?)"
            )
        images[ref] = img
    missing = {r for u in d["turns"] for r in u["image_refs"]} - images.keys()
    if missing:
        raise ExchangeError(f"{where}: turns use images not listed in 'images': {sorted(missing)[:3]}")
    return Trajectory.from_dict(d, images)


def _external_line(d: dict[str, Any], base: Path, where: str, tokenizer: Any, agent_cfg: Any) -> Trajectory:
    """Replay a demonstration through the agent's prompt builder: the prompts the policy would have seen."""
    from rollout.agent import ReActAgent
    from rollout.engines.base import GenerationResult
    from rollout.engines.scripted import SCRIPTED_VERSION

    if tokenizer is None:
        raise ExchangeError(
            f"{where}: a demonstration without token ids needs the policy's tokenizer (--model)"
        )
    steps = d["steps"]
    if not steps:
        raise ExchangeError(f"{where}: 'steps' is empty")
    t = Trajectory(env_id=d["env_id"], seed=int(d.get("seed", 0)), instruction=d["instruction"])
    t.meta = {"source": "import", **d.get("meta", {})}
    agent = ReActAgent(tokenizer, agent_cfg)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    for k, step in enumerate(steps):
        obs = {"screenshot": _png(base, step["screenshot"], where), "instruction": t.instruction}
        info = {"elements": step["elements"]} if "elements" in step else {}
        if k == 0:
            agent.start(t, obs, info)
        else:
            agent.observe(t, obs, info)
        ids, refs = agent.prompt()
        text = step["response"]
        response = list(tokenizer.encode(text, add_special_tokens=False)) + [eos]
        parsed = agent.act(
            GenerationResult(response, [0.0] * len(response), text, "stop", SCRIPTED_VERSION, 0)
        )
        t.turns.append(Turn(ids, response, [0.0] * len(response), text, refs,
                            parsed.action.to_dict() if parsed.action else None, parsed.error,
                            policy_version=SCRIPTED_VERSION))  # fmt: skip
    t.success = bool(d.get("success", False))
    t.reward = t.turns[-1].reward = float(t.success)
    t.terminated = True
    return t


def import_jsonl(path: str | Path, tokenizer: Any = None, agent_cfg: Any = None) -> Iterator[Trajectory]:
    """Trajectories from a JSONL file (agentrl's export format, or external demonstrations; see above)."""
    from rollout.agent import AgentConfig

    path = Path(path)
    agent_cfg = agent_cfg or AgentConfig()
    try:
        lines = path.open()
    except FileNotFoundError:
        raise ExchangeError(f"{path}: no such file") from None
    with lines:
        for n, line in enumerate(lines, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                d = json.loads(line)
                if "steps" in d:
                    yield _external_line(d, path.parent, where, tokenizer, agent_cfg)
                else:
                    yield _agentrl_line(d, path.parent, where)
            except ExchangeError:
                raise
            except json.JSONDecodeError as e:
                raise ExchangeError(f"{where}: not JSON ({e.msg})") from None
            except (KeyError, TypeError, ValueError, AttributeError) as e:
                raise ExchangeError(f"{where}: not a trajectory ({type(e).__name__}: {e})") from None


# -- HF datasets -----------------------------------------------------------------------------------------
def hf_features() -> Any:
    import datasets

    return datasets.Features({
        "id": datasets.Value("string"), "env_id": datasets.Value("string"), "seed": datasets.Value("int64"),
        "instruction": datasets.Value("string"), "reward": datasets.Value("float64"),
        "success": datasets.Value("bool"), "terminated": datasets.Value("bool"),
        "truncated": datasets.Value("bool"), "status": datasets.Value("string"), "reason": datasets.Value("string"),
        "num_steps": datasets.Value("int32"), "created_at": datasets.Value("float64"),
        "meta": datasets.Value("string"), "turns": datasets.Value("string"),
        "image_refs": datasets.List(datasets.Value("string")), "images": datasets.List(datasets.Image()),
    })  # fmt: skip


def hf_row(t: Trajectory) -> dict[str, Any]:
    d = t.to_dict()
    return {
        "id": t.id, "env_id": t.env_id, "seed": t.seed, "instruction": t.instruction, "reward": t.reward,
        "success": t.success, "terminated": t.terminated, "truncated": t.truncated, "status": t.status,
        "reason": t.reason, "num_steps": t.num_steps, "created_at": t.created_at,
        "meta": json.dumps(t.meta, sort_keys=True), "turns": json.dumps(d["turns"]),
        "image_refs": list(t.images), "images": [{"bytes": png_bytes(img), "path": None} for img in t.images.values()],
    }  # fmt: skip


def export_hf(trajectories: Iterable[Trajectory], out: str | Path) -> int:
    """Save as a HF dataset directory (`datasets.load_from_disk(out)`); returns the number of rows.

    Rows are streamed to an Arrow file (datasets' own writer) and the dataset is memory-mapped from it."""
    import datasets
    from datasets.arrow_writer import ArrowWriter

    features = hf_features()
    with tempfile.TemporaryDirectory(prefix="agentrl-hf-") as tmp:
        arrow = str(Path(tmp) / "rows.arrow")
        with ArrowWriter(features=features, path=arrow) as writer:
            for t in trajectories:
                writer.write(features.encode_example(hf_row(t)))
            writer.finalize()
        ds = datasets.Dataset.from_file(arrow)
        ds.save_to_disk(str(out))
        return ds.num_rows


FIELDS = ("id", "env_id", "seed", "instruction", "reward", "success", "terminated", "truncated", "status", "reason",
          "created_at")  # fmt: skip


def from_hf_row(row: dict[str, Any]) -> Trajectory:
    """A trajectory back from an exported row (images decoded from their PNGs)."""
    images = {
        ref: np.asarray(img.convert("RGB"), np.uint8) for ref, img in zip(row["image_refs"], row["images"])
    }
    d = {k: row[k] for k in FIELDS}
    t = Trajectory(**d, turns=[Turn(**u) for u in json.loads(row["turns"])], images=images)
    t.meta = json.loads(row["meta"])
    return t
