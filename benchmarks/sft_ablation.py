"""Why does the tiny default's SFT learn so little on toy.click-target? One change at a time, same budget.

    python benchmarks/sft_ablation.py --rows agentrl,fresh,uniform [--steps 300] [--eval-seeds 200]

Every row trains the tiny model from the same random init (seed 0) with agentrl's learner
(`LearnerGroup`, in-process, one thread), batch 32 for `--steps` optimizer steps, then plays it greedily
through agentrl's evaluation path (HF engine, the agent, the env) on held-out seeds 1,000,000.. that no
demonstration used. A row differs from `agentrl` (the main job's SFT as it was on toy: 800 scripted-expert
demonstrations recycled, screenshot + element list, Thought + Action, the minimal system prompt, lr 1e-3 with
20 warmup steps and cosine decay to 0.1) in the settings it names:

    pool      demos in the fixed set the batches are drawn from (0: a fresh demo for every sample)
    layout    grid (the toy's 3x5 cells) or uniform (centres anywhere: the probe's setting; a benchmark-only env)
    obs       screenshot+elements or elements (text only)
    thought   keep the expert's Thought line or answer with the Action alone
    system    the agent's system prompt (minimal, or uitars: ~200 tokens)
    schedule  cosine (warmup, decay to 0.1) or constant (the probe's)
    mix       other tasks' demos mixed into every batch, as the main job's single SFT over all domains does
    shift     agentrl.data.augment's screen shift (TrainData.shift_max_frac): the fix, on the fixed pool
    batch     samples per step; the row takes steps x batch / this many steps (the same samples seen)
    steps     a longer budget than the others (named in the row)
    rope_theta  the text model's RoPE base (the tiny preset's is Qwen's 1e6; the probe learns positions)
    probe     ../shared/probes/element_copy_probe.py itself (one thread), for as long as `probe_setting` trained

Rows are appended to benchmarks/results/sft_ablation.json as they finish (run them one at a time); `--tag
@NAME` files them under `ROW@NAME` (rows re-run after a change to the model, e.g. @init05).

    python benchmarks/sft_ablation.py --split tiny:probe:probe,probe:agentrl:probe --steps 1500

runs cells of the model x samples x optimizer split in the probe's own loop (benchmarks/_split.py) and files
each curve under "split" (`--tag @NAME` files it as KEY@NAME): it found the tiny preset's init (std 0.02 ->
0.05), RoPE without a Thought and the tied embeddings in the gap (findings.gap_explained); the chat wrapping
delays the probe's copying (findings.chat_wrapper) but taking it off agentrl's own samples does not bring it
(findings.wrapping_on_agentrl_text); agentrl's `Instruction:`/`Elements:` headers in the probe's text stop its
copying by 2,000 steps in all three runs (findings.header_tokens_seeded), but agentrl's own samples without
them and without the wrapping do not copy either (findings.headers_on_agentrl_samples), and the step at which
copying begins varies from run to run by more than any one wording change moves it
(findings.ending_and_run_to_run). `--seed N` seeds a
split row's init and samples (earlier rows: unseeded).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import RESULTS, ROOT, WORK, machine  # noqa: E402

TOY = "agentrl/toy.click-target-v0"
UNIFORM_TOY = "bench/toy.click-uniform-v0"  # registered by this script only
EVAL_SEED0 = 1_000_000
PROBE = ROOT.parent / "shared" / "probes" / "element_copy_probe.py"

BASE: dict[str, Any] = dict(pool=800, layout="grid", obs="screenshot+elements", thought=True,
                            system="minimal", schedule="cosine", lr=1e-3, mix=[], shift=0.0,
                            batch=None, steps=None, rope_theta=None, drop_system=0.0,
                            strip_chat=0.0, strip_heads=False)  # fmt: skip
ROWS: dict[str, dict[str, Any]] = {
    "agentrl": {},
    "fresh": {"pool": 0},
    "fresh+text_only": {"pool": 0, "obs": "elements"},
    "uniform": {"layout": "uniform"},
    "uniform+fresh": {"layout": "uniform", "pool": 0},
    "text_only": {"obs": "elements"},
    "no_thought": {"thought": False},
    "long_system": {"system": "uitars"},
    "constant_lr": {"schedule": "constant"},
    "lr3e-3": {"lr": 3e-3},
    "mix_miniwob": {"mix": ["agentrl/miniwob.click-button-v0", "agentrl/miniwob.click-link-v0"]},
    "probe_setting": {"layout": "uniform", "pool": 0, "obs": "elements", "thought": False},
    "probe_setting+constant_lr": {
        "layout": "uniform",
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "schedule": "constant",
    },  # fmt: skip
    "probe_setting@1200": {
        "layout": "uniform",
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "steps": 1200,
    },
    "probe_setting+rope1e4@1200": {
        "layout": "uniform",
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "steps": 1200,
        "rope_theta": 1e4,
    },  # fmt: skip
    "probe_setting+lr3e-3@1200": {
        "layout": "uniform",
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "steps": 1200,
        "lr": 3e-3,
    },  # fmt: skip
    "fresh+shift@1200": {"pool": 0, "shift": 0.25, "steps": 1200},
    "probe_setting@2400": {
        "layout": "uniform",
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "steps": 2400,
    },
    "probe_setting_on_grid@2400": {  # the toy's grid (text-only samples have no screen to shift)
        "pool": 0,
        "obs": "elements",
        "thought": False,
        "steps": 2400,
    },  # fmt: skip
    "probe_setting+batch8": {"layout": "uniform", "pool": 0, "obs": "elements", "thought": False, "batch": 8},
    "batch8": {"batch": 8},
    "shift+batch8": {"shift": 0.25, "batch": 8},
    "shift": {"shift": 0.25},
    "shift+fresh": {"shift": 0.25, "pool": 0},
    "probe": {},
}


def register_uniform_toy() -> None:
    """The toy task with centres drawn uniformly (the probe's setting), for this ablation only: the toy env
    keeps its grid (real GUIs sit on grids)."""
    from envs.core.elements import Element
    from envs.registry import _REGISTRY, EnvSpec, register
    from envs.toy import click

    class UniformToy(click.ToyClickEnv):
        def _reset_task(self, seed: int, options: dict[str, Any]) -> str:
            text = super()._reset_task(seed, options)
            rng = random.Random(seed + 7_777_777)
            placed: list[Element] = []
            for b in self.buttons:  # same labels and sizes, anywhere on the screen below the header
                for _ in range(100):
                    x, y = rng.randint(0, self.width - b.w), rng.randint(30, self.height - b.h)
                    if not any(abs(x - o.x) < max(b.w, o.w) and abs(y - o.y) < max(b.h, o.h) for o in placed):
                        break
                placed.append(Element(b.index, b.role, b.text, x, y, b.w, b.h))
            self.buttons = placed
            return text

    sys.modules[__name__].UniformToy = UniformToy  # type: ignore[attr-defined]
    if UNIFORM_TOY not in _REGISTRY:
        register(EnvSpec(id=UNIFORM_TOY, entry_point=f"{__name__}:UniformToy", kind="toy", source="benchmark",
                         has_expert=True, tags=("toy",)))  # fmt: skip


def drop_system(sample: Any, head: list[int]) -> Any:
    """`sample` without its leading system message (`<|im_start|>system\n...<|im_end|>\n`, which opens with
    `head`; the next message opens with `<|im_start|>` again); unchanged when it has none or a trained token
    is in it. The agentrl-thought-dropsys row's cure (findings.chat_wrapper: it did not help)."""
    from dataclasses import replace

    ids = sample.input_ids
    if ids[: len(head)] != head or head[0] not in ids[1:]:
        return sample
    end = ids.index(head[0], 1)
    if any(sample.loss_mask[:end]):
        return sample
    return replace(sample, input_ids=list(ids[end:]), loss_mask=list(sample.loss_mask[end:]))


def strip_chat(sample: Any, head: list[int], markers: list[list[int]]) -> Any:
    """`sample` without any of the chat wrapping: its system message (drop_system) and the user/assistant
    markers (`<|im_start|>user\n`, `<|im_end|>\n<|im_start|>assistant\n`) before the response; what is
    left is the observation's own text (`Instruction:`, the image, `Elements:`) and the response. The
    agentrl-thought-stripmix row: the probe-thought-chat-mix cure on agentrl's samples."""
    from dataclasses import replace

    s = drop_system(sample, head)
    ids, mask = list(s.input_ids), list(s.loss_mask)
    for m in markers:
        for i in range(len(ids) - len(m), -1, -1):
            if ids[i : i + len(m)] == m and not any(mask[i : i + len(m)]):
                del ids[i : i + len(m)], mask[i : i + len(m)]
    return replace(s, input_ids=ids, loss_mask=mask)


def agent_config(row: dict[str, Any], max_steps: int = 10):
    from rollout.agent import AgentConfig

    return AgentConfig(observation=row["obs"], system_prompt=row["system"], max_steps=max_steps)


class Demos:
    """Scripted-expert SFT samples for a row: one per turn, as agentrl's SFT builds them from the store."""

    def __init__(self, row: dict[str, Any], tokenizer: Any) -> None:
        from rollout.engines.scripted import ExpertEngine
        from rollout.local_env import LocalEnv

        self.row, self.tok = row, tokenizer
        self.task = UNIFORM_TOY if row["layout"] == "uniform" else TOY
        self.engine = ExpertEngine(tokenizer)
        self.env = LocalEnv()
        self.loop = asyncio.new_event_loop()
        # the chat wrapping in token ids: the system message's opening, the user/assistant markers
        self.head = self._ids("<|im_start|>system\n")
        self.markers = [self._ids("<|im_end|>\n<|im_start|>assistant\n"), self._ids("<|im_start|>user\n")]
        if row["strip_heads"]:  # the observation's headers go with the wrapping: `Instruction:`, `Elements:`
            self.markers += [self._ids("Instruction:"), self._ids("\nElements:\n")]

    def _ids(self, text: str) -> list[int]:
        return list(self.tok.encode(text, add_special_tokens=False))

    def episode(self, task: str, seed: int) -> list:
        from agentrl.data.samples import sft_samples
        from rollout.episode import run_episode

        t = self.loop.run_until_complete(
            run_episode(self.engine, self.env, self.tok, agent_config(self.row), task, seed)
        )
        samples = list(sft_samples([t]))
        if not self.row["thought"]:
            for s in samples:  # the response without its Thought line: "Action: ...<|im_end|>"
                resp = s.input_ids[len(s.input_ids) - s.num_trainable :]
                text = self.tok.decode(resp[:-1])
                cut = (
                    list(self.tok.encode(text[text.index("Action:") :], add_special_tokens=False)) + resp[-1:]
                )
                s.input_ids = s.input_ids[: len(s.input_ids) - len(resp)] + cut
                s.loss_mask = [0] * (len(s.input_ids) - len(cut)) + [1] * len(cut)
        return samples

    def stream(self, seed: int = 0) -> Iterator:
        """`_stream`, shifted as `agentrl.train.data.sample_stream` makes it, and without some system messages
        or chat wrapping, when the row asks."""
        from agentrl.data.augment import PointTokens, shift_sample

        points = PointTokens.of(self.tok) if self.row["shift"] else None
        for n, s in enumerate(self._stream(seed)):
            if random.Random(1_000_033 + n).random() < self.row["drop_system"]:
                s = drop_system(s, self.head)
            if random.Random(2_000_033 + n).random() < self.row["strip_chat"]:
                s = strip_chat(s, self.head, self.markers)
            yield shift_sample(s, points, random.Random(n), self.row["shift"]) if points else s

    def held_out(self, seed: int) -> Any:
        """The first turn's sample of held-out `seed`, without its chat wrapping when every training sample
        goes without it (strip_chat 1)."""
        s = self.episode(self.task, seed)[0]
        return strip_chat(s, self.head, self.markers) if self.row["strip_chat"] >= 1 else s

    def _stream(self, seed: int) -> Iterator:
        """Endless samples: a fixed pool of `pool` demos per task reshuffled every epoch, or fresh ones."""
        tasks = [self.task, *self.row["mix"]]
        rng = random.Random(seed)
        if self.row["pool"] == 0:
            s = 0
            while True:
                for task in tasks:
                    yield from self.episode(task, s)
                s += 1
        pool = [x for s in range(self.row["pool"]) for task in tasks for x in self.episode(task, s)]
        while True:
            rng.shuffle(pool)
            yield from pool

    def close(self) -> None:
        self.env.close()
        self.loop.close()


def model_variant(base: Path, row: dict[str, Any]) -> Path:
    """The tiny model as built, or a copy with the row's RoPE base (the weights do not depend on it)."""
    import shutil

    if row["rope_theta"] is None:
        return base
    out = WORK / "sft_ablation" / f"tiny-rope{row['rope_theta']:g}"
    if not out.exists():
        shutil.copytree(base, out)
        cfg = json.loads((out / "config.json").read_text())
        cfg["text_config"]["rope_parameters"]["rope_theta"] = float(row["rope_theta"])
        (out / "config.json").write_text(json.dumps(cfg, indent=2))
    return out


def train_row(
    name: str, row: dict[str, Any], base: Path, steps: int, batch: int, out: Path
) -> dict[str, Any]:
    import itertools

    import torch

    from agentrl.models.loading import load_processor
    from agentrl.train.config import LearnerConfig, OptimConfig
    from agentrl.train.group import LearnerGroup

    torch.set_num_threads(1)
    tok = load_processor(base).tokenizer
    demos = Demos(row, tok)
    t0 = time.monotonic()
    stream = demos.stream()
    first = list(itertools.islice(stream, batch))  # a fixed pool is recorded here, before the clock starts
    record_s = time.monotonic() - t0
    optim = OptimConfig(
        lr=row["lr"], warmup_steps=20, min_lr_ratio=1.0 if row["schedule"] == "constant" else 0.1
    )
    group = LearnerGroup(str(base), LearnerConfig(local=True, seed=0), optim, steps)
    t0 = time.monotonic()
    losses, step_s, demo_s = [], 0.0, 0.0
    b = first
    for step in range(steps):
        m = group.train_step(b, 8)
        step_s += m["step_s"]
        losses.append(m["nll_sum"] / max(m["tokens"], 1.0))
        if (step + 1) % 50 == 0:
            print(f"  {name} step {step + 1}/{steps} loss {sum(losses[-50:]) / 50:.3f} "
                  f"{time.monotonic() - t0:.0f}s", flush=True)  # fmt: skip
        t1 = time.monotonic()
        b = list(itertools.islice(stream, batch))
        demo_s += time.monotonic() - t1
    sft_s = time.monotonic() - t0
    group.save(str(out), {"samples_seen": steps * batch, "objective": "sft"})
    demos.close()
    tokens = [len(s.input_ids) for s in first]
    return {"steps": steps, "batch": batch, "sft_seconds": round(sft_s, 1), "train_step_seconds": round(step_s, 1),
            "fresh_demo_seconds": round(demo_s, 1) if row["pool"] == 0 else 0.0,
            "pool_record_seconds": round(record_s, 1), "final_loss": round(sum(losses[-20:]) / 20, 4),
            "first_loss": round(losses[0], 4), "mean_sample_tokens": round(sum(tokens) / len(tokens), 1)}  # fmt: skip


def step_timing(base: Path, batch: int, steps: int = 12) -> dict[str, Any]:
    """Seconds per optimizer step (mean of the last steps-2, one thread): the vision tower's share of a step
    is the difference between screenshot+elements with and without gradients through it, and text only."""
    import itertools

    import torch

    from agentrl.models.loading import load_processor
    from agentrl.train.config import LearnerConfig, OptimConfig
    from agentrl.train.group import LearnerGroup

    torch.set_num_threads(1)
    tok = load_processor(base).tokenizer
    out = {}
    for name, obs, freeze in (("screenshot+elements", "screenshot+elements", False),
                              ("screenshot+elements, vision frozen", "screenshot+elements", True),
                              ("elements (text only)", "elements", False)):  # fmt: skip
        demos = Demos({**BASE, "obs": obs, "pool": 0}, tok)
        stream = demos.stream()
        group = LearnerGroup(str(base), LearnerConfig(local=True, freeze_vision=freeze), OptimConfig(), steps)
        times = [group.train_step(list(itertools.islice(stream, batch)), 8)["step_s"] for _ in range(steps)]
        demos.close()
        out[name] = round(sum(times[2:]) / (steps - 2), 3)
    return out


def evaluate_row(row: dict[str, Any], model: Path, episodes: int) -> dict[str, Any]:
    from agentrl.eval.episodes import local_agent, play_local
    from agentrl.eval.plans import task_major

    task = UNIFORM_TOY if row["layout"] == "uniform" else TOY
    agent = local_agent(5, agent=agent_config(row, 5))
    trajs = asyncio.run(play_local(model, task_major([task], episodes, EVAL_SEED0), agent))
    wins = sum(int(t.success) for t in trajs)
    first = [t.turns[0].text for t in trajs[:3] if t.turns]
    return {"task": task, "successes": wins, "episodes": len(trajs), "success": wins / len(trajs),
            "sample_responses": first}  # fmt: skip


def run_probe(seconds: float, extra: list[str]) -> dict[str, Any]:
    cmd = [sys.executable, str(PROBE), "128", "4", str(int(seconds)), *extra]
    t0 = time.monotonic()
    env = {**os.environ, "OMP_NUM_THREADS": "1"}  # one thread, as the agentrl rows
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env).stdout
    last = [ln for ln in out.splitlines() if ln.startswith("final")][-1]
    fields = dict(kv.split("=") for kv in last.split()[1:])
    n = 400 if seconds > 120 else 20
    return {"task": "probe (text, uniform, fresh)", "exact": float(fields["exact"]),
            "in_box": float(fields["in_box"]), "episodes": n, "successes": round(float(fields["in_box"]) * n),
            "success": float(fields["in_box"]), "steps": int(fields["step"]), "sft_seconds": round(time.monotonic() - t0, 1),
            "log_tail": out.splitlines()[-4:]}  # fmt: skip


def data_checks(base: Path, demos: int = 200) -> dict[str, Any]:
    """The toy's SFT samples as the model sees them (after the chat template): is the instruction in the
    prompt, is the element list, does the expert click a listed centre of the named element, and are the
    coordinates and element words one token each?"""
    import re

    from agentrl.models.loading import load_processor
    from envs.toy.click import LABELS

    tok = load_processor(base).tokenizer
    d = Demos(BASE, tok)
    samples = [s for seed in range(demos) for s in d.episode(TOY, seed)]
    d.close()
    ok = {"instruction_in_prompt": 0, "elements_in_prompt": 0, "click_is_named_elements_centre": 0}
    for s in samples:
        n = len(s.input_ids) - s.num_trainable
        prompt, response = tok.decode(s.input_ids[:n]), tok.decode(s.input_ids[n:])
        label = re.search(r'Click the "([^"]+)" button', prompt)
        ok["instruction_in_prompt"] += label is not None
        ok["elements_in_prompt"] += "Elements:" in prompt
        centre = label and re.search(rf'\] button "{label.group(1)}" \((\d+,\d+)\)', prompt)
        ok["click_is_named_elements_centre"] += bool(centre and f"({centre.group(1)})" in response)
    pieces = [tok.decode([i]) for i in samples[0].input_ids]
    return {**{k: f"{v}/{len(samples)}" for k, v in ok.items()},
            "integers_0_1000_one_token": all(len(tok.encode(str(i), add_special_tokens=False)) == 1 for i in range(1001)),
            "labels_one_token": all(len(tok.encode(w, add_special_tokens=False)) == 1 for w in LABELS),
            "tokens_per_sample": round(sum(len(s.input_ids) for s in samples) / len(samples), 1),
            "system_prompt_tokens": pieces.index("<|im_end|>") + 1,
            "first_sample_tokens": pieces}  # fmt: skip


# agentrl's samples in the split (text only, fresh demos): the probe_setting row, with the expert's Thought,
# and with the Thought on the toy's own grid
AGENTRL_SAMPLES: dict[str, dict[str, Any]] = {
    "agentrl": {},
    "agentrl-thought": {"thought": True},
    "agentrl-grid-thought": {"thought": True, "layout": "grid"},
    # the tiny tokenizer with every punctuation mark one token and no space on it (the probe's split): the
    # `(` before a coordinate is then one token in the element list and in the click
    "agentrl-thought-punct": {"thought": True, "tokenizer": "punct"},
    # half the training samples without their system message (drop_system above); held out with it
    "agentrl-thought-dropsys": {"thought": True, "drop_system": 0.5},
    # without any chat wrapping (strip_chat above): every training sample, or half of them; held out with it
    "agentrl-thought-strip": {"thought": True, "strip_chat": 1.0},
    "agentrl-thought-stripmix": {"thought": True, "strip_chat": 0.5},
    "agentrl-thought-strip-punct": {"thought": True, "strip_chat": 1.0, "tokenizer": "punct"},
    # without the chat wrapping and without the `Instruction:`/`Elements:` headers (findings.header_tokens_seeded
    # on agentrl's own samples): the instruction sentence, then the element list, then the response
    "agentrl-thought-nohead": {"thought": True, "strip_chat": 1.0, "strip_heads": True},
}
PUNCT_REGEX = r" ?[\p{L}_]+|\p{N}+|[^\s\p{L}\p{N}_]|\s*[\r\n]+|\s+(?!\S)|\s+"


def split_tokenizer(base: Path, name: str) -> Any:
    """The tiny model's tokenizer, or a variant of it trained the same way with another pre-tokenizer."""
    from agentrl.models.loading import load_processor
    from agentrl.models.tokenizer import build_tokenizer

    tok = load_processor(base).tokenizer
    if name == "bpe":
        return tok
    variant = build_tokenizer(pretokenize_regex=PUNCT_REGEX)
    variant.chat_template = tok.chat_template
    return variant


def split_row(key: str, base: Path, args: argparse.Namespace) -> dict[str, Any]:
    """One cell of the model x samples x optimizer split, in the probe's own training loop (_split.py)."""
    import _split
    import torch

    torch.set_num_threads(1)
    model, samples, optim = key.split(":")
    probe_row = {**BASE, **ROWS["probe_setting"]}
    allowed = ", ".join([f"probe-{f}".removesuffix("-plain") for f in _split.FORMATS] + [*AGENTRL_SAMPLES])
    allowed += " (probe forms may end in -mix, agentrl ones in -probetok)"
    form = samples.removeprefix("probe").removeprefix("-") or "plain"
    if samples.startswith("probe") and form.removesuffix("-mix") in _split.FORMATS:  # probe, probe-thought...
        source: Any = _split.ProbeSource(form)
    elif samples.removesuffix("-probetok") in AGENTRL_SAMPLES:  # -probetok: in the probe's tokens
        row = {"tokenizer": "bpe", **probe_row, **AGENTRL_SAMPLES[samples.removesuffix("-probetok")]}
        tok = split_tokenizer(base, row["tokenizer"])
        source = _split.AgentrlSource(Demos, row, tok, EVAL_SEED0)
        if samples.endswith("-probetok"):
            source = _split.Retokenized(source, tok)
    else:
        raise SystemExit(f"--split: samples '{samples}' unknown; allowed: {allowed}")
    print(f"split {key}: {args.steps} steps at batch {args.batch}", flush=True)
    res = _split.run(model, source, optim, args.steps, args.eval_every, args.eval_seeds, args.batch,
                     seed=args.seed)  # fmt: skip
    source.close()
    return {**res, "model": model, "samples": samples, "optim": optim, "threads": 1, "machine": machine(),
            "date": time.strftime("%Y-%m-%d %H:%M")}  # fmt: skip


def file_result(path: Path, section: str, key: str, res: dict[str, Any]) -> None:
    """Write `res` under results[section][key], re-reading the file first: runs side by side each file
    their own entries, and a copy read when this run started would drop theirs."""
    result = json.loads(path.read_text()) if path.exists() else {"benchmark": "sft_ablation", "rows": {}}
    result.setdefault(section, {})[key] = res
    path.write_text(json.dumps(result, indent=2) + "\n")


def add_verdicts(result: dict[str, Any]) -> None:
    """Each trained row against the random and best-fixed click on its env's held-out seeds: Fisher's
    exact test at p < 0.05 with the counts (agentrl.flywheel.report.beats)."""
    from agentrl.flywheel.report import beats

    for row in result["rows"].values():
        floors = result["floors"].get(row.get("task", ""))
        if floors is None:  # the probe (its own text task, no env) or a row stopped before its eval
            continue
        n = row["episodes"]
        for f in ("random_click", "best_fixed_click"):
            row[f"beats_{f}"] = beats(row["successes"], n, round(floors[f] * n), n)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", default="agentrl")
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--eval-seeds", type=int, default=200)
    ap.add_argument("--probe-seconds", type=float, default=0, help="0: the probe_setting row's SFT seconds")
    ap.add_argument("--out", default=str(RESULTS / "sft_ablation.json"))
    ap.add_argument("--timing", action="store_true", help="measure seconds per step (vision's share) only")
    ap.add_argument(
        "--floors", action="store_true", help="random / best fixed click on the held-out seeds only"
    )
    ap.add_argument("--verdicts", action="store_true", help="each row against its env's floors (Fisher)")
    ap.add_argument("--checks", action="store_true", help="the toy's samples as the model sees them")
    ap.add_argument("--split", default="", help="MODEL:SAMPLES:OPTIM[,...] in the probe's loop (_split.py)")
    ap.add_argument("--tag", default="", help="suffix of the rows' names in the results (e.g. @init05)")
    ap.add_argument("--eval-every", type=int, default=400, help="--split: steps between held-out evals")
    ap.add_argument("--seed", type=int, default=None, help="--split: torch's seed for the init (and the "
                    "samples' seed + 1); unset: unseeded, as the rows before it ran")  # fmt: skip
    args = ap.parse_args()

    from agentrl.models.factory import init_model

    register_uniform_toy()
    base = WORK / "tiny"
    # split runs read only its tokenizer and go side by side: built once, not rewritten under each other
    if not (args.split and (base / "config.json").exists()):
        base = init_model("tiny", base, seed=0)
    path = Path(args.out)
    result = json.loads(path.read_text()) if path.exists() else {"benchmark": "sft_ablation", "rows": {}}
    budget = {"samples": args.steps * args.batch, "steps_at_batch": [args.steps, args.batch], "threads": 1,
              "eval_seeds": args.eval_seeds,
              "eval": f"greedy, seeds {EVAL_SEED0}.., max 5 agent steps"}  # fmt: skip
    if args.floors:
        from agentrl.flywheel.evaluate import baselines

        seeds = list(range(EVAL_SEED0, EVAL_SEED0 + args.eval_seeds))
        result["floors"] = {t: baselines(t, 20, seeds, 20) for t in (TOY, UNIFORM_TOY)}
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(result["floors"])
        return
    if args.checks:
        result["data_checks"] = data_checks(base)
        path.write_text(json.dumps(result, indent=2) + "\n")
        print({k: v for k, v in result["data_checks"].items() if k != "first_sample_tokens"})
        return
    if args.split:
        for key in args.split.split(","):
            file_result(path, "split", key + args.tag, split_row(key, base, args))
        return
    if args.verdicts:
        add_verdicts(result)
        path.write_text(json.dumps(result, indent=2) + "\n")
        return
    if args.timing:
        result["step_seconds"] = {**step_timing(base, args.batch), "batch": args.batch, "threads": 1}
        path.write_text(json.dumps(result, indent=2) + "\n")
        print(result["step_seconds"])
        return
    for name in args.rows.split(","):
        row = {**BASE, **ROWS[name]}
        print(f"row {name}: {ROWS[name] or 'as agentrl runs it'}", flush=True)
        if name == "probe":
            seconds = args.probe_seconds or result["rows"]["probe_setting"]["sft_seconds"]
            res = run_probe(seconds, [])
        else:
            out = WORK / "sft_ablation" / f"{name}{args.tag}-{args.steps}"
            batch = row["batch"] or args.batch  # a smaller batch takes more steps: the same samples in all
            steps = row["steps"] or args.steps * args.batch // batch
            res = train_row(name, row, model_variant(base, row), steps, batch, out)
            res.update(evaluate_row(row, out, args.eval_seeds))
        res.update(change=ROWS[name], budget=budget, machine=machine(), date=time.strftime("%Y-%m-%d %H:%M"))
        print(f"row {name}: {res['successes']}/{res['episodes']} = {res['success']:.1%} "
              f"({res['sft_seconds']} s)", flush=True)  # fmt: skip
        file_result(path, "rows", name + args.tag, res)


if __name__ == "__main__":
    main()
