"""Multi-turn PPO: UI-TARS-2 style token-level actor-critic, decoupled/length-adaptive GAE, GRPO."""
