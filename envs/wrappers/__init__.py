"""Envs from the wider gymnasium ecosystem in agentrl's observation and action format.

`GymImageEnv` wraps any gymnasium env that renders RGB frames and takes discrete actions: the frame is the
screenshot, the actions are keys (`hotkey(key='left')`). `envs.wrappers.minigrid` registers MiniGrid tasks
with it (`agentrl/gym.minigrid-*-v0`), with a scripted expert.

BrowserGym is not wrapped: browsergym-core 0.14.3 (the newest release) requires playwright==1.44 exactly,
while agentrl's browser envs need the playwright>=1.50 installed beside them (1.65 here), so the two cannot
share one environment; a BrowserGym task would need a separate virtualenv and a process boundary.
"""

from envs.wrappers.gym_image import GymImageEnv

__all__ = ["GymImageEnv"]
