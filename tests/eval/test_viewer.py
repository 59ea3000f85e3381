"""The HTML viewer in real headless Chromium (Playwright): load the page, filter, click through an episode,
check the drawn action against the stored one, take a screenshot. The store holds real episodes played
on the toy env (a random-click policy and a scripted drag/type episode), written with the real store."""

from __future__ import annotations

import asyncio

import pytest

from agentrl.cli import main
from agentrl.data.store import TrajectoryStore
from envs.actions import Action, format_response
from rollout.agent import AgentConfig
from rollout.local_env import LocalEnv

from .conftest import TOY


class Script:
    """A policy that says the given responses in turn (drives the real env through run_episode)."""

    def __init__(self, tokenizer, responses):
        from agentrl.eval.policies import SeededRandomClick

        self.base, self.responses = SeededRandomClick(tokenizer), list(responses)

    async def generate(self, request):
        return self.base._result(self.responses.pop(0))


@pytest.fixture(scope="module")
def store_dir(tiny_tokenizer, tmp_path_factory):
    from agentrl.eval.policies import scripted_engine
    from rollout.episode import run_episode

    root = tmp_path_factory.mktemp("viewer") / "run"
    agent = AgentConfig(max_steps=3)
    scripted = [
        format_response(Action("drag", (10, 20), end=(60, 70)), "Drag it."),
        format_response(Action("type", content="hello </script>"), "Type."),
        "Thought: nonsense\nAction: fly()",
    ]

    async def play():
        env = LocalEnv()
        try:
            out = [await run_episode(scripted_engine("random", tiny_tokenizer), env, tiny_tokenizer, agent, TOY, s,
                                     meta={"run": "random"}) for s in range(4)]  # fmt: skip
            engine = Script(tiny_tokenizer, scripted)
            out.append(await run_episode(engine, env, tiny_tokenizer, agent, "agentrl/toy.click-sequence-v0", 7,
                                         meta={"run": "script"}))  # fmt: skip
            return out
        finally:
            env.close()

    trajs = asyncio.run(play())
    store = TrajectoryStore(root / "store")
    store.write(trajs[:4], run="random")
    store.write(trajs[4:], run="script")
    return root, trajs


def test_view_in_headless_chromium(store_dir, capsys, tmp_path):
    from envs.browser.manager import browser_manager

    root, trajs = store_dir
    assert main(["view", str(root)]) == 0, capsys.readouterr().err
    page_path = root / "view" / "index.html"
    click = trajs[0].turns[0].action
    assert click["verb"] == "click"

    context = browser_manager().browser().new_context(viewport={"width": 1200, "height": 900})
    try:
        page = context.new_page()
        errors = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        assert page.locator(".ep").count() == 5
        page.select_option("#f-task", "agentrl/toy.click-sequence-v0")
        assert page.locator(".ep").count() == 1
        page.select_option("#f-task", "")
        page.select_option("#f-run", "random")
        assert page.locator(".ep").count() == 4
        wins = sum(t.success for t in trajs[:4])
        page.select_option("#f-outcome", "success")
        assert page.locator(".ep").count() == wins
        page.select_option("#f-outcome", "failure")
        assert page.locator(".ep").count() == 4 - wins

        # An episode of random clicks: the circle sits where the stored action clicked.
        page.select_option("#f-outcome", "")
        page.locator(f".ep[data-id='{trajs[0].id}']").click()
        assert page.locator("#step-label").inner_text() == f"step 1 / {trajs[0].num_steps}"
        circle = page.locator("#overlay circle.click")
        assert (float(circle.get_attribute("cx")), float(circle.get_attribute("cy"))) == tuple(click["start"])
        assert page.locator("#shot").evaluate("img => img.complete && img.naturalWidth") == 160

        # The scripted episode: a drag arrow, typed text in the caption (escaped), an invalid action.
        page.select_option("#f-run", "script")
        page.locator(".ep").first.click()
        line = page.locator("#overlay line.drag")
        assert [line.get_attribute(a) for a in ("x1", "y1", "x2", "y2")] == ["10", "20", "60", "70"]
        assert page.locator("#thought").inner_text() == "Drag it."
        page.click("#next")
        assert page.locator("#caption").inner_text() == 'type: "hello </script>"'
        page.keyboard.press("ArrowRight")
        assert page.locator("#step-label").inner_text() == "step 3 / 3"
        assert "unknown action 'fly'" in page.locator("#action-error").inner_text()
        assert page.locator("#action").inner_text() == "(did not parse)"
        assert page.locator("#next").is_disabled()
        shot = tmp_path / "viewer.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 5000
        assert errors == []
    finally:
        context.close()


def test_view_refuses_what_is_not_a_store(tmp_path, capsys):
    assert main(["view", str(tmp_path)]) == 2
    assert "holds no trajectory store" in capsys.readouterr().err
