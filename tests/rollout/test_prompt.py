"""Token-in/token-out prompts: responses verbatim, the last K screenshots in full, older turns as text."""

from __future__ import annotations

import numpy as np

from envs.actions import Action
from rollout.agent import AgentConfig, ReActAgent
from rollout.engines.base import GenerationResult
from rollout.trajectory import Trajectory


def _obs(seed: int, instruction: str = 'Click the "ok" button.'):
    rng = np.random.RandomState(seed)
    return {
        "screenshot": rng.randint(0, 255, (60, 80, 3), dtype=np.uint8),
        "instruction": instruction,
        "text": "",
    }


def _info(elements=True, error=""):
    els = (
        [{"index": 0, "role": "button", "text": "ok", "x": 10, "y": 20, "w": 30, "h": 10}] if elements else []
    )
    return {"elements": els, "action_error": error}


def _result(tokenizer, text: str, stop: bool = True) -> GenerationResult:
    ids = tokenizer.encode(text, add_special_tokens=False)
    eos = tokenizer.convert_tokens_to_ids("<|im_end|>")
    ids = ids + [eos] if stop else ids
    return GenerationResult(ids, [-1.0] * len(ids), text, "stop" if stop else "length", 0, 0)


def _episode(tokenizer, cfg: AgentConfig, responses: list[str]):
    traj = Trajectory("x", 0, "i")
    agent = ReActAgent(tokenizer, cfg)
    agent.start(traj, _obs(0), _info())
    prompts, sent = [], []
    for t, text in enumerate(responses):
        prompts.append(agent.prompt())
        r = _result(tokenizer, text, stop=t % 2 == 0)
        sent.append(r.token_ids)
        agent.act(r)
        agent.observe(traj, _obs(t + 1), _info(error="bad" if t == 1 else ""))
    prompts.append(agent.prompt())
    return prompts, sent, agent


def _contains(seq: list[int], sub: list[int]) -> bool:
    return any(seq[i : i + len(sub)] == sub for i in range(len(seq) - len(sub) + 1))


def test_responses_appear_verbatim_in_every_later_prompt(tiny_tokenizer):
    texts = ["Thought: ok.\nAction: click(start_box='(25,25)')", "garbage ))(", "Action: wait()"]
    prompts, sent, _ = _episode(tiny_tokenizer, AgentConfig(history_images=1), texts)
    for t, ids in enumerate(sent):
        for later_ids, _ in prompts[t + 1 :]:
            assert _contains(later_ids, ids)
    # each prompt extends the previous one where no screenshot dropped out: history_images large
    prompts, _, _ = _episode(tiny_tokenizer, AgentConfig(history_images=10), texts)
    for (a, _), (b, _) in zip(prompts, prompts[1:]):
        assert b[: len(a)] == a


def test_last_k_screenshots_in_full(tiny_tokenizer):
    pad = tiny_tokenizer.convert_tokens_to_ids("<|image_pad|>")
    for k in (1, 2, 3):
        prompts, _, _ = _episode(tiny_tokenizer, AgentConfig(history_images=k), ["wait()"] * 4)
        for turn, (ids, refs) in enumerate(prompts):
            assert ids.count(pad) == len(refs) == min(k, turn + 1)


def test_elements_shown_in_model_coordinates_and_actions_mapped_back(tiny_tokenizer):
    cfg = AgentConfig(coordinate_space="relative1000")
    traj = Trajectory("x", 0, "i")
    agent = ReActAgent(tiny_tokenizer, cfg)
    agent.start(traj, _obs(0), _info())
    text = tiny_tokenizer.decode(agent.prompt()[0])
    assert '[0] button "ok" (312,417)' in text  # centre (25,25) of an 80x60 screen in 0..1000 units
    parsed = agent.act(_result(tiny_tokenizer, "Action: click(start_box='(312,417)')"))
    assert parsed.action == Action("click", (25, 25))


def test_parse_error_goes_to_env_as_text_and_back_to_the_model(tiny_tokenizer):
    prompts, _, agent = _episode(tiny_tokenizer, AgentConfig(), ["x", "y"])
    parsed = agent.act(_result(tiny_tokenizer, "no action here"))
    assert parsed.action is None and parsed.env_input == "no action here" and "no action call" in parsed.error
    assert "Your last action was invalid: bad" in tiny_tokenizer.decode(prompts[2][0])


def test_chat_messages_match_the_token_prompt(tiny_tokenizer):
    _, _, agent = _episode(tiny_tokenizer, AgentConfig(history_images=2), ["wait()", "wait()"])
    messages = agent.messages()
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user", "assistant", "user"]
    images = [
        p for m in messages if isinstance(m["content"], list) for p in m["content"] if p["type"] == "image"
    ]
    assert [p["ref"] for p in images] == agent.prompt()[1]
