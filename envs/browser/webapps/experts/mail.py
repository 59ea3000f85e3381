"""Mail experts: sending (reply, forward, compose) fills the compose form and sends; filing (move, delete,
star) opens each message the goal changes and presses the button that changes it."""

from __future__ import annotations

from typing import Any

from envs.browser.webapps.experts import expert
from envs.browser.webapps.experts.toolkit import fill_all, path, press, wait


def _open(page: Any, app: Any, mid: int) -> str:
    m = app.messages[mid]
    where = path(page)
    if where == f"/folder/{m.folder}" or (where == "/" and m.folder == "Inbox"):
        return press(page, f'a.msg[href="/message/{mid}"]', f'I open the message "{m.subject}".')
    return press(page, f"#nav-{m.folder}", f"I go to the {m.folder} folder.")


@expert("mail", "reply", "forward", "compose")
def send(page: Any, app: Any, task: Any) -> str:
    p = task.params
    where = path(page)
    if where not in ("/compose", "/send"):  # /send: the form shown again after a failed send
        if p["open"] is None:
            return press(page, "#compose", "I start a new message.")
        if where == f"/message/{p['open']}":
            return press(page, f"#{p['via']}", f"I click {p['via'].capitalize()}.")
        return _open(page, app, p["open"])
    fields = [("#to", p["to"], "To"), ("#subject", p["subject"], "Subject")]
    if p["text"] is not None:
        fields.append(("#body", p["text"], "message"))
    return fill_all(page, fields) or press(page, "#send", "The message is ready; I send it.")


@expert("mail", "move-from-sender", "delete-and-star")
def file_messages(page: Any, app: Any, task: Any) -> str:
    for mid, (folder, starred) in sorted(task.params["goal"].items()):
        m = app.messages[mid]
        if (m.folder, m.starred) == (folder, starred):
            continue
        if path(page) != f"/message/{mid}":
            return _open(page, app, mid)
        if m.starred != starred:
            return press(page, "#star", "I star this message." if starred else "I remove the star.")
        if folder == "Trash":
            return press(page, "#delete", "I delete this message.")
        return press(page, f"#move-{folder}", f"I move this message to {folder}.")
    return wait("Every message is where it should be.")
