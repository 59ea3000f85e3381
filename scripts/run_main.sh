#!/usr/bin/env bash
# The README's main job: the flywheel on the tiny default (CT -> SFT -> PPO per domain -> merge -> eval ->
# rejection sampling, two iterations). Re-running continues where a killed run stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/agentrl flywheel --config configs/flywheel_tiny.yaml "$@"
