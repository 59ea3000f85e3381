"""The flywheel: CT -> SFT -> RL per domain -> interpolation -> evaluation -> routing, iterated."""
