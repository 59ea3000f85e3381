"""The data flywheel: trajectory store, validation and routing, datasets for CT, SFT and RL."""
