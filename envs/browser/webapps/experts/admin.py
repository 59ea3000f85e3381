"""Admin experts: open the form the goal lives on (a user's edit form, the new-user form, a settings page),
set each control the goal names, then save."""

from __future__ import annotations

from typing import Any

from envs.browser.miniwob.experts.toolkit import nodes
from envs.browser.webapps.admin import slug
from envs.browser.webapps.experts import expert
from envs.browser.webapps.experts.toolkit import fill_all, path, press


def _checked(page: Any, css: str) -> bool:
    return nodes(page, css)[0].checked


def _on_page(page: Any, want: str, nav: str, via: str | None = None) -> str | None:
    """None when on `want`; else the click toward it (`via` from the users list, the nav link otherwise)."""
    where = path(page)
    if where == want:
        return None
    if via is not None and where in ("/", "/users"):
        return press(page, via, "I open the form.")
    return press(page, nav, "I go to the page I need.")


@expert("admin", "change-role", "disable-user")
def edit_user(page: Any, app: Any, task: Any) -> str:
    p = task.params
    user = p["user"]
    step = _on_page(page, f"/users/{user}/edit", "#nav-users", f"#edit-{user}")
    if step is not None:
        return step
    if "role" in p and not _checked(page, f"#role-{p['role']}"):
        return press(page, f"#role-{p['role']}", f"I choose the role {p['role']}.")
    if "active" in p and _checked(page, "#active") != p["active"]:
        return press(page, "#active", "I change the Active box.")
    return press(page, "#save", "The user is set as asked; I save.")


@expert("admin", "create-user")
def create_user(page: Any, app: Any, task: Any) -> str:
    u = task.params["new"]
    step = _on_page(page, "/users/new", "#nav-users", "#new-user")
    if step is not None:
        return step
    fields = [
        ("#username", u.username, "username"),
        ("#fullname", u.name, "full name"),
        ("#email", u.email, "email"),
    ]
    step = fill_all(page, fields)
    if step is not None:
        return step
    if not _checked(page, f"#role-{u.role}"):
        return press(page, f"#role-{u.role}", f"I choose the role {u.role}.")
    return press(page, "#save", "The new user is filled in; I create it.")


@expert("admin", "set-toggles")
def set_toggles(page: Any, app: Any, task: Any) -> str:
    step = _on_page(page, "/settings/features", "#nav-features")
    if step is not None:
        return step
    for feature, on in task.params["features"].items():
        css = f"#feat-{slug(feature)}"
        if _checked(page, css) != on:
            return press(page, css, f'I turn {"on" if on else "off"} "{feature}".')
    return press(page, "#save-features", "The toggles are set; I save.")


@expert("admin", "change-timezone")
def change_timezone(page: Any, app: Any, task: Any) -> str:
    tz = task.params["timezone"]
    step = _on_page(page, "/settings/general", "#nav-general")
    if step is not None:
        return step
    css = f"#tz-{slug(tz)}"
    if _checked(page, css):
        return press(page, "#save-general", f"{tz} is chosen; I save.")
    if not page.evaluate("document.getElementById('tz').open"):
        return press(page, "#tz-current", "I open the timezone drop-down.")
    return press(page, css, f"I choose {tz}.")
