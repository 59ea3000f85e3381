"""Parameter interpolation of checkpoints (UI-TARS-2): theta = sum_k alpha_k theta_k, alpha_k >= 0,
sum_k alpha_k = 1, over checkpoints fine-tuned from one base; LoRA adapters are merged into the base first.

`merge(MergeSpec(...))` streams tensor by tensor (streaming.py); the rules are pure tensor functions
(methods.py); `search` evaluates a grid over the simplex of weights on held-out seeds (search.py).
"""

from agentrl.merge.inputs import MergeError
from agentrl.merge.methods import METHODS
from agentrl.merge.streaming import MergeSpec, merge, plan

__all__ = ["METHODS", "MergeError", "MergeSpec", "merge", "plan"]
