"""The contract checker over every registered env, in a fast mode for CI: one episode per env, every
non-MiniWoB env (toy, desktop, gym wrappers, ...), one template per web app and per real desktop app
(desktop-real), and a fixed-seed sample of
the ~130 MiniWoB++ tasks (they share one env class and one reset path, so a sample covers the code;
`agentrl envs check ID` checks any other one). About a minute on 2 cores."""

from __future__ import annotations

import random

import pytest

import envs
from envs.check import check_env

MINIWOB_SAMPLE = 6
# Known contract failures, per env kind, with the phrase their detail must contain. Each is a real defect
# for its owner to fix; remove the entry once fixed.
KNOWN: dict[tuple[str, str], str] = {}  # (kind, contract) -> expected detail, for defects not yet fixed


def fast_mode_ids() -> list[str]:
    specs = [s for s in envs.list_envs() if s.kind != "module"]  # module-path ids other tests made
    miniwob = sorted(s.id for s in specs if "miniwob" in s.tags)
    # Web apps: one template per app (the templates of an app share its env class, server and pages;
    # tests/envs/test_webapps.py plays every template's expert).
    # Real desktop apps likewise: one template per app (each reset starts the apps, ~4 s per check;
    # tests/envs/test_desktop_real_experts.py plays every template's expert; all 21 pass
    # `agentrl envs check ID --episodes 1`, see envs/desktop/real/README.md).
    per_app: dict[str, str] = {}
    for s in specs:
        if s.kind in ("web-app", "desktop-real"):
            per_app.setdefault(s.kind + ":" + s.id.split(".")[1], s.id)
    others = [s.id for s in specs if "miniwob" not in s.tags and s.kind not in ("web-app", "desktop-real")]
    return others + sorted(per_app.values()) + sorted(random.Random(0).sample(miniwob, MINIWOB_SAMPLE))


@pytest.mark.parametrize("env_id", fast_mode_ids())
def test_registered_env_keeps_its_contracts(env_id: str):
    kind = envs.spec(env_id).kind
    report = check_env(env_id, episodes=1)
    for c in report.failed():
        known = KNOWN.get((kind, c.name))
        assert known and known in c.detail, f"{env_id}: {c.name}: {c.detail} (fix: {c.fix})"
    assert report.get("observation").status == "pass" and report.get("termination").status == "pass"
    if envs.spec(env_id).has_expert:
        assert report.expert_success_rate is not None and report.expert_success_rate > 0
