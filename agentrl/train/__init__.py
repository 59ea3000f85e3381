"""The learner: continual pre-training, SFT and PPO on Ray with torch.distributed."""
