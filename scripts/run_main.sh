#!/usr/bin/env bash
# The README's main job. It grows with the project; the command (`make run`) stays the same.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=.venv/bin
MODEL=runs/models/tiny
$BIN/agentrl model init --preset tiny "$MODEL"
$BIN/agentrl model info "$MODEL"
$BIN/agentrl model generate --config configs/engines/hf_tiny.yaml
$BIN/agentrl model generate --config configs/engines/vllm_tiny.yaml
