"""The admin console: users list -> edit user / new user forms, and settings pages (General: site name and a
timezone drop-down; Features: on/off toggles), each saved with its own button.

State: 7 users (seeded names, roles, active flags) and the site settings. Saving a form is the console's
terminal event for the task that edits it: a save that leaves the state other than the goal has failed.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace
from html import escape
from typing import Any

from envs.browser.webapps.base import App, Response, Task, redirect, template
from envs.browser.webapps.html import checkbox, error, page, radio, text_field

FIRST = ("Olivia", "Noah", "Mia", "Lucas", "Zoe", "Ethan", "Nora", "Leo", "Ruby", "Owen", "Iris", "Felix")
LAST = ("Hart", "Baker", "Cole", "Dunn", "Ellis", "Frost", "Grant", "Hayes", "Irwin", "Keane")
ROLES = ("Viewer", "Editor", "Admin")
TIMEZONES = (
    "UTC", "Europe/London", "Europe/Berlin", "America/New_York", "America/Chicago", "America/Los_Angeles",
    "Asia/Tokyo", "Australia/Sydney",
)  # fmt: skip
SITE_NAMES = ("Acme Portal", "Northwind Hub", "Bluebird Intranet", "Summit Console")
FEATURES = (
    "Email alerts",
    "Weekly digest",
    "Two-factor login",
    "Public profiles",
    "Maintenance mode",
    "Beta tools",
)
USER_COUNT = 7
TZ_SCRIPT = """<script>
document.querySelectorAll('#tz input').forEach((r) => r.addEventListener('change', () => {
  document.getElementById('tz-current').textContent = r.value;
  document.getElementById('tz').open = false;
}));
</script>"""


@dataclass(frozen=True)
class User:
    username: str
    name: str
    email: str
    role: str
    active: bool = True


def slug(text: str) -> str:
    return "".join(c if c.isalnum() else "-" for c in text.lower())


class Admin(App):
    name = "admin"
    title = "Admin Console"
    routes = [
        ("GET", r"/", "users_page"),
        ("GET", r"/users", "users_page"),
        ("GET", r"/users/new", "new_user"),
        ("GET", r"/users/(\w+)/edit", "edit_user"),
        ("GET", r"/settings/general", "general_page"),
        ("GET", r"/settings/features", "features_page"),
        ("POST", r"/users/new", "create_user"),
        ("POST", r"/users/(\w+)/edit", "save_user"),
        ("POST", r"/settings/general", "save_general"),
        ("POST", r"/settings/features", "save_features"),
    ]

    def reset(self, rng: random.Random) -> None:
        firsts = rng.sample(FIRST, USER_COUNT)
        self.users: dict[str, User] = {}
        for first in sorted(firsts):
            last = rng.choice(LAST)
            u = first.lower()
            self.users[u] = User(u, f"{first} {last}", f"{u}.{last.lower()}@corp.test", rng.choice(ROLES))
        for u in rng.sample(sorted(self.users), 2):
            self.users[u] = replace(self.users[u], active=False)
        self.site_name = rng.choice(SITE_NAMES)
        self.timezone = rng.choice(TIMEZONES)
        self.features = {f: rng.random() < 0.5 for f in FEATURES}

    def snapshot(self) -> tuple:
        """Everything a task may change, comparable with ==."""
        return (dict(self.users), self.site_name, self.timezone, dict(self.features))

    def _page(self, title: str, body: str) -> Response:
        nav = [("nav-users", "/users", "Users"), ("nav-general", "/settings/general", "General"),
               ("nav-features", "/settings/features", "Features")]  # fmt: skip
        return Response(200, page(self.title, title, nav, body, self.take_flash()))

    # -- users ------------------------------------------------------------------------------------------
    def users_page(self, form: dict[str, str]) -> Response:
        rows = "".join(
            f"<tr><td>{u.username}</td><td>{escape(u.name)}</td><td>{u.email}</td><td>{u.role}</td>"
            f"<td>{'Active' if u.active else 'Disabled'}</td>"
            f'<td><a id="edit-{u.username}" href="/users/{u.username}/edit">Edit</a></td></tr>'
            for u in self.users.values()
        )
        body = (
            "<h2>Users</h2><table><tr><th>Username</th><th>Name</th><th>Email</th><th>Role</th><th>Status</th>"
            f'<th></th></tr>{rows}</table><p><a id="new-user" class="button" href="/users/new">New user</a></p>'
        )
        return self._page("Users", body)

    def _user_form(self, u: User, action: str, button: str, new: bool, problem: str = "") -> str:
        roles = "".join(radio("role", f"role-{r}", r, r, u.role == r) for r in ROLES)
        first = (
            text_field("username", "Username", u.username) if new else f"<p>Username: <b>{u.username}</b></p>"
        )
        active = "" if new else checkbox("active", "Active", u.active)
        return (
            f'{error(problem)}<form method="post" action="{action}">{first}{text_field("fullname", "Full name", u.name)}'
            f'{text_field("email", "Email", u.email)}<p>Role: {roles}</p>{active}<button id="save">{button}</button></form>'
        )

    def edit_user(self, username: str, form: dict[str, str]) -> Response:
        u = self.users.get(username)
        if u is None:
            return self._page("Not found", error(f"No user {username}"))
        body = f"<h2>Edit user</h2>{self._user_form(u, f'/users/{username}/edit', 'Save', new=False)}"
        return self._page(f"Edit {username}", body)

    def new_user(self, form: dict[str, str], problem: str = "") -> Response:
        u = User(
            form.get("username", ""),
            form.get("fullname", ""),
            form.get("email", ""),
            form.get("role", "Viewer"),
        )
        return self._page(
            "New user", f"<h2>New user</h2>{self._user_form(u, '/users/new', 'Create', True, problem)}"
        )

    def save_user(self, username: str, form: dict[str, str]) -> Response:
        u = self.users.get(username)
        if u is None:
            return self._page("Not found", error(f"No user {username}"))
        role = form.get("role", u.role)
        self.users[username] = replace(
            u, name=form.get("fullname", "").strip(), email=form.get("email", "").strip(),
            role=role if role in ROLES else u.role, active="active" in form,
        )  # fmt: skip
        self.events.append("user-saved")
        self.flash = f"User {username} saved."
        return redirect("/users")

    def create_user(self, form: dict[str, str]) -> Response:
        username = form.get("username", "").strip()
        if not username.isalnum() or username in self.users:
            return self.new_user(form, problem="Choose a new username (letters and digits).")
        role = form.get("role", "")
        name, email = form.get("fullname", "").strip(), form.get("email", "").strip()
        self.users[username] = User(username, name, email, role if role in ROLES else "Viewer")
        self.events.append("user-created")
        self.flash = f"User {username} created."
        return redirect("/users")

    # -- settings ---------------------------------------------------------------------------------------
    def general_page(self, form: dict[str, str]) -> Response:
        options = "".join(
            f"<div>{radio('timezone', f'tz-{slug(z)}', z, z, z == self.timezone)}</div>" for z in TIMEZONES
        )
        body = (
            f'<h2>General settings</h2><form method="post" action="/settings/general">'
            f'{text_field("site-name", "Site name", self.site_name)}<div class="field">Timezone: '
            f'<details id="tz" style="display:inline-block;vertical-align:top;border:1px solid #999;padding:2px 6px">'
            f'<summary id="tz-current">{self.timezone}</summary>{options}</details></div>'
            f'<p><button id="save-general">Save</button></p></form>{TZ_SCRIPT}'
        )
        return self._page("General settings", body)

    def features_page(self, form: dict[str, str]) -> Response:
        boxes = "".join(checkbox(f"feat-{slug(f)}", f, on) for f, on in self.features.items())
        body = (
            f'<h2>Features</h2><form method="post" action="/settings/features">{boxes}'
            f'<button id="save-features">Save</button></form>'
        )
        return self._page("Features", body)

    def save_general(self, form: dict[str, str]) -> Response:
        self.site_name = form.get("site-name", self.site_name).strip()
        if form.get("timezone") in TIMEZONES:
            self.timezone = form["timezone"]
        self.events.append("general-saved")
        self.flash = "General settings saved."
        return redirect("/settings/general")

    def save_features(self, form: dict[str, str]) -> Response:
        self.features = {f: f"feat-{slug(f)}" in form for f in FEATURES}
        self.events.append("features-saved")
        self.flash = "Features saved."
        return redirect("/settings/features")


# -- task templates: each goal is the whole state after one edit, committed by one kind of save -------------
def state_task(app: Admin, instruction: str, goal: tuple, commit: str, params: dict[str, Any]) -> Task:
    """Goal: the whole state equals `goal`; the `commit` event (a save) without it is the failure."""

    def check() -> bool:
        return app.snapshot() == goal

    return Task(instruction, check, lambda: commit in app.events and not check(), params)


def _goal(app: Admin, **changes: object) -> tuple:
    users, site, tz, feats = app.snapshot()
    return (changes.get("users", users), site, changes.get("timezone", tz), changes.get("features", feats))


@template(Admin, "change-role", max_steps=10)
def change_role(app: Admin, rng: random.Random) -> Task:
    u = app.users[rng.choice(sorted(app.users))]
    role = rng.choice([r for r in ROLES if r != u.role])
    users = {**app.users, u.username: replace(u, role=role)}
    text = f'Change the role of user "{u.username}" to {role}.'
    return state_task(app, text, _goal(app, users=users), "user-saved", {"user": u.username, "role": role})


@template(Admin, "disable-user", max_steps=10)
def disable_user(app: Admin, rng: random.Random) -> Task:
    u = app.users[rng.choice(sorted(k for k, v in app.users.items() if v.active))]
    users = {**app.users, u.username: replace(u, active=False)}
    text = f"Disable the account of {u.name}."
    return state_task(app, text, _goal(app, users=users), "user-saved", {"user": u.username, "active": False})


@template(Admin, "create-user", max_steps=15)
def create_user(app: Admin, rng: random.Random) -> Task:
    first = rng.choice([f for f in FIRST if f.lower() not in app.users])
    last, role = rng.choice(LAST), rng.choice(ROLES)
    u = User(first.lower(), f"{first} {last}", f"{first.lower()}.{last.lower()}@corp.test", role)
    text = f'Create a user "{u.username}" named {u.name} with the email {u.email} and the role {role}.'
    goal = _goal(app, users={**app.users, u.username: u})
    return state_task(app, text, goal, "user-created", {"new": u})


@template(Admin, "set-toggles", max_steps=10)
def set_toggles(app: Admin, rng: random.Random) -> Task:
    on = rng.choice([f for f, v in app.features.items() if not v] or [FEATURES[0]])
    off = rng.choice([f for f, v in app.features.items() if v and f != on] or [FEATURES[-1]])
    app.features.update({on: False, off: True})  # the start state the instruction describes
    features = {**app.features, on: True, off: False}
    text = f'In the Features settings, turn on "{on}" and turn off "{off}", then save.'
    return state_task(app, text, _goal(app, features=features), "features-saved", {"features": features})


@template(Admin, "change-timezone", max_steps=10)
def change_timezone(app: Admin, rng: random.Random) -> Task:
    tz = rng.choice([z for z in TIMEZONES if z != app.timezone])
    text = f"Set the timezone to {tz} in the General settings and save."
    return state_task(app, text, _goal(app, timezone=tz), "general-saved", {"timezone": tz})
