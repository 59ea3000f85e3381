"""The learner computes logits only at trained positions: the objectives' losses and gradients must be
those of the full logits (real tiny model, real samples with images)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

import agentrl.train.ppo.objectives  # noqa: F401  (registers "ppo")
from agentrl.data.samples import TrainSample
from agentrl.models.loading import load_model, load_processor
from agentrl.train.batch import collate, expand_sample
from agentrl.train.objectives import get_objective


def _batch(model_dir, tok):
    proc = load_processor(model_dir)
    image_id = load_model(model_dir).config.image_token_id
    rng = np.random.default_rng(0)
    items = []
    for n_prompt, n_resp in [(9, 4), (15, 7), (5, 2)]:
        prompt = tok("look at <|vision_start|><|image_pad|><|vision_end|> " + "a " * n_prompt)["input_ids"]
        resp = tok(" b" * n_resp)["input_ids"]
        img = rng.integers(0, 255, (56, 56, 3), dtype=np.uint8)
        s = TrainSample(prompt + resp, [0] * len(prompt) + [1] * len(resp), [img])
        extras = {"old_logprobs": rng.normal(-3, 1, len(s.input_ids)).tolist(),
                  "advantages": rng.normal(0, 1, len(s.input_ids)).tolist()}  # fmt: skip
        items.append(expand_sample(s, proc, image_id, extras))
    return collate(items, tok.pad_token_id or 0, image_id, load_model(model_dir).config.video_token_id)


@pytest.mark.parametrize(("objective", "kwargs"), [("nll", {}), ("ppo", {"entropy_coef": 0.01})])
def test_losses_and_gradients_equal_those_of_full_logits(tiny_model_dir, tiny_tokenizer, objective, kwargs):
    torch.manual_seed(0)
    model = load_model(tiny_model_dir)
    batch = _batch(tiny_model_dir, tiny_tokenizer)
    keep = batch.trained_positions()
    assert len(keep) < batch.input_ids.shape[1] / 2  # most positions are prompt and image
    fn = get_objective(objective)
    results = []
    for view in (False, True):
        model.zero_grad()
        inputs = batch.model_inputs("cpu", torch.float32)
        if view:
            loss, m = fn(model(**inputs, logits_to_keep=keep).logits, batch.targets_view(keep), **kwargs)
        else:
            loss, m = fn(model(**inputs).logits, batch, **kwargs)
        loss.backward()
        grads = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        results.append((loss.detach(), m, grads))
    (full, m_full, g_full), (part, m_part, g_part) = results
    torch.testing.assert_close(part, full, rtol=1e-5, atol=1e-5)
    torch.testing.assert_close(g_part, g_full, rtol=1e-4, atol=1e-6)
    assert m_part.keys() == m_full.keys()
    for k in m_full:
        assert m_part[k] == pytest.approx(m_full[k], rel=1e-4, abs=1e-6), k
