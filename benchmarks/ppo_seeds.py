"""Does PPO move the policy on a real MiniWoB++ task, and does what it learns carry to new seeds?

    python benchmarks/ppo_seeds.py --model SFT_DIR [--task agentrl/miniwob.click-button-v0] [--seeds 16]

From an SFT checkpoint (benchmarks/sft_learns.py's, screenshot+elements), PPO with GRPO advantages trains on a
fixed set of training seeds: every iteration samples `--samples` episodes of each seed (temperature 0.7, a
-0.2 format penalty, as benchmarks/ppo_learns.py), builds the batch with the real batch builder, takes one
step of the real learner with the "ppo" objective (old logprobs recomputed at the temperature) and pushes the
weights to the real HFEngine. Before and after: greedy success on `--eval-episodes` held-out seeds (from
1,000,000), with Wilson 95% intervals and a two-proportion z-test. Writes benchmarks/results/ppo_seeds.json:
the training seeds' success per iteration and the held-out figures; "ratio" = held-out success after / before.

It separates two questions benchmarks/ppo_learns.py cannot: whether an update raises the reward of the
episodes it was computed from (the training seeds), and whether that carries to layouts it never saw.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from _common import RESULTS, machine


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--model", required=True)
    p.add_argument("--task", default="agentrl/miniwob.click-button-v0")
    p.add_argument("--seeds", type=int, default=16, help="training seeds (100, 101, ...)")
    p.add_argument("--samples", type=int, default=12, help="episodes per training seed per iteration")
    p.add_argument("--iterations", type=int, default=8)
    p.add_argument("--lr", type=float, default=1e-4)
    p.add_argument("--temperature", type=float, default=0.7)
    p.add_argument("--format-penalty", type=float, default=-0.2)
    p.add_argument("--eval-episodes", type=int, default=200)
    p.add_argument("--lora-r", type=int, default=0, help="train a LoRA adapter of this rank (0: all weights)")
    args = p.parse_args()

    import torch

    import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")
    from agentrl.config import EVAL_SEED_START
    from agentrl.eval.stats import two_proportion_z, wilson
    from agentrl.launch.ray_init import RayConfig, init_ray
    from agentrl.train.config import LearnerConfig, LoraSettings, OptimConfig
    from agentrl.train.group import LearnerGroup
    from agentrl.train.ppo.advantages import AdvantageConfig
    from agentrl.train.ppo.batch import RewardShaping, StalenessConfig, build
    from rollout.agent import AgentConfig
    from rollout.collector import Collector, CollectorConfig
    from rollout.engines.base import SamplingConfig
    from rollout.engines.hf import HFEngine

    torch.manual_seed(0)
    init_ray(RayConfig())
    engine = HFEngine(args.model, max_batch_size=16)
    sampling = SamplingConfig(temperature=args.temperature, max_tokens=48)
    agent = AgentConfig(observation="screenshot+elements", max_steps=5, sampling=sampling)
    greedy = agent.model_copy(update={"sampling": sampling.model_copy(update={"temperature": 0.0})})
    cc = CollectorConfig(env_workers=2, envs_per_worker=4, max_in_flight=8)
    train_col = Collector(engine, engine.tokenizer, agent, cc)
    eval_col = Collector(engine, engine.tokenizer, greedy, cc)
    learner = LearnerGroup(
        args.model,
        LearnerConfig(
            local=True,
            lora=LoraSettings(enabled=True, r=args.lora_r, alpha=2 * args.lora_r)
            if args.lora_r
            else LoraSettings(),
        ),
        OptimConfig(lr=args.lr, warmup_steps=0),
        args.iterations,
    )
    adv = AdvantageConfig(estimator="grpo", normalize=True)
    shaping = RewardShaping(format_penalty=args.format_penalty)
    seeds = list(range(100, 100 + args.seeds))
    objective = {"eps_low": 0.2, "eps_high": 0.28, "temperature": args.temperature}

    async def collect(col: Collector, tasks: list[tuple[str, int]]) -> list:
        return [t async for t in col.stream(tasks)]

    def held_out() -> int:
        tasks = [(args.task, EVAL_SEED_START + i) for i in range(args.eval_episodes)]
        return sum(t.success for t in asyncio.run(collect(eval_col, tasks)))

    t0 = time.monotonic()
    before = held_out()
    print(f"held-out before: {before}/{args.eval_episodes}", flush=True)
    history = []
    for it in range(args.iterations + 1):
        trajs = asyncio.run(collect(train_col, [(args.task, s) for s in seeds for _ in range(args.samples)]))
        per_seed = {s: sum(t.success for t in trajs if t.seed == s) for s in seeds}
        row: dict = {
            "iteration": it,
            "train_success": sum(per_seed.values()) / len(trajs),
            "per_seed": per_seed,
        }
        if it < args.iterations:
            batch = build(trajs, None, adv, shaping, StalenessConfig(), it)
            if args.temperature != 1.0:  # engines report raw logprobs; the policy sampled is softmax(z / T)
                old = learner.logprobs(batch.samples, 8, args.temperature)
                for extras, lp in zip(batch.policy_extras, old, strict=True):
                    extras["old_logprobs"] = lp
            m = learner.train_step(batch.samples, 8, "ppo", batch.policy_extras, None, objective)
            tok = max(m["num_tokens"], 1.0)
            row.update(approx_kl=m["approx_kl_sum"] / tok, clipfrac=m["clipped_tokens"] / tok)
            asyncio.run(engine.update_weights(learner.state_dict(), it + 1))
        history.append(row)
        print(f"iteration {it}: training seeds {row['train_success']:.3f}", flush=True)
    after = held_out()
    n = args.eval_episodes
    z, p_value = two_proportion_z(before, n, after, n)
    print(f"held-out after: {after}/{n} (p={p_value:.3g})", flush=True)
    asyncio.run(train_col.close())
    asyncio.run(eval_col.close())
    result = {
        "benchmark": "ppo_seeds", "machine": machine(), "model": args.model, "task": args.task,
        "config": {k: v for k, v in vars(args).items() if k != "model"}, "training_seeds": seeds,
        "history": history,
        "train_success_first": history[0]["train_success"], "train_success_last": history[-1]["train_success"],
        "held_out": {"episodes": n, "seed_start": EVAL_SEED_START, "before": before / n, "after": after / n,
                     "before_ci95": wilson(before, n), "after_ci95": wilson(after, n), "z": z,
                     "p_value_two_sided": p_value},
        "ratio": (after / before) if before else None,
        "ratio_definition": "held-out greedy success after / before (training-seed success is in history)",
        "wall_s": time.monotonic() - t0,
    }  # fmt: skip
    (RESULTS / "ppo_seeds.json").write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
