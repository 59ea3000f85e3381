"""The mail client: folder list -> open message -> reply / forward / compose / star / delete / move to folder.

State: the user's messages (seeded senders, subjects and bodies; one sender wrote two of them), each
with a folder and a star; sent mail lands in "Sent". Sending is the client's terminal event; for the
filing tasks (move, delete, star) a change the goal does not ask for is the terminal failure.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, replace
from html import escape
from typing import Any

from envs.browser.webapps.base import App, Response, Task, redirect, template
from envs.browser.webapps.html import error, page, post_button, text_field

ME = ("Sam Lee", "sam@mail.test")
PEOPLE = tuple(
    (name, name.split()[0].lower() + "@mail.test")
    for name in (
        "Ana Ortiz", "Ben Carter", "Chloe Ng", "Dev Patel", "Eva Schmidt", "Finn Doyle", "Grace Kim",
        "Hugo Silva", "Ivy Chen", "Jonas Berg", "Kira Novak", "Liam Walsh",
    )
)  # fmt: skip
SUBJECTS = (
    "Lunch on Friday", "Quarterly report", "Team offsite", "Invoice 2291", "Book club", "Server maintenance",
    "Holiday plans", "Project kickoff", "Photos from the trip", "Budget review", "New office chairs",
    "Conference tickets", "Parking permits", "Printer on floor 3",
)  # fmt: skip
LINES = (
    "Let me know what you think.", "Could you reply by Thursday?", "The details are below.",
    "No rush on this one.", "I have attached my notes.", "Happy to talk it through.",
)  # fmt: skip
REPLIES = (
    "Sounds good, see you then.", "Thanks, I will take a look.", "Yes, count me in.",
    "Can we move it to Monday?", "Got it, thank you.", "I will send it tomorrow.",
)  # fmt: skip
NEW_SUBJECTS = (
    "Quick question",
    "Meeting notes",
    "Travel plans",
    "Weekend hike",
    "Draft agenda",
    "Thank you",
)
FOLDERS = ("Inbox", "Archive", "Work", "Personal", "Sent", "Trash")
FILE_TO = ("Archive", "Work", "Personal")  # where a message can be moved
INBOX_SIZE = 7


@dataclass(frozen=True)
class Message:
    id: int
    folder: str
    sender: tuple[str, str]  # (name, address)
    to: str
    subject: str
    body: str
    starred: bool = False


class Mail(App):
    name = "mail"
    title = "Mailbox"
    routes = [
        ("GET", r"/", "home"),
        ("GET", r"/folder/(\w+)", "folder"),
        ("GET", r"/message/(\d+)", "message"),
        ("GET", r"/compose", "compose"),
        ("POST", r"/message/(\d+)/star", "star"),
        ("POST", r"/message/(\d+)/delete", "delete"),
        ("POST", r"/message/(\d+)/move", "move"),
        ("POST", r"/send", "send"),
    ]

    def reset(self, rng: random.Random) -> None:
        senders = rng.sample(PEOPLE, INBOX_SIZE - 1)
        senders.insert(rng.randrange(INBOX_SIZE - 1), senders[0])  # senders[0] writes twice
        subjects = rng.sample(SUBJECTS, INBOX_SIZE)
        self.messages: dict[int, Message] = {}
        for i, (sender, subject) in enumerate(zip(senders, subjects, strict=True), start=1):
            body = f"Hi Sam,\n\nA note about {subject.lower()}. {rng.choice(LINES)}\n\n{sender[0].split()[0]}"
            self.messages[i] = Message(i, "Inbox", sender, ME[1], subject, body)
        self.sent: list[Message] = []

    def in_folder(self, folder: str) -> list[Message]:
        return sorted((m for m in self.messages.values() if m.folder == folder), key=lambda m: -m.id)

    def _page(self, title: str, body: str) -> Response:
        nav = [(f"nav-{f}", f"/folder/{f}", f) for f in FOLDERS] + [("compose", "/compose", "Compose")]
        return Response(200, page(self.title, title, nav, body, self.take_flash()))

    # -- pages ------------------------------------------------------------------------------------------
    def home(self, form: dict[str, str]) -> Response:
        return self.folder("Inbox", form)

    def folder(self, name: str, form: dict[str, str]) -> Response:
        if name not in FOLDERS:
            return self._page("Not found", error(f"No folder {name}"))
        rows = "".join(
            f"<tr><td>{'&#9733;' if m.starred else '&#9734;'}</td><td>{escape(self._who(m, name))}</td>"
            f'<td><a class="msg" href="/message/{m.id}">{escape(m.subject)}</a></td></tr>'
            for m in self.in_folder(name)
        )
        head = "To" if name == "Sent" else "From"
        table = f"<table><tr><th></th><th>{head}</th><th>Subject</th></tr>{rows}</table>" if rows else ""
        empty = "" if rows else '<p class="muted">No messages.</p>'
        return self._page(name, f"<h2>{name}</h2>{table}{empty}")

    def _who(self, m: Message, folder: str) -> str:
        return m.to if folder == "Sent" else m.sender[0]

    def message(self, mid: str, form: dict[str, str]) -> Response:
        m = self.messages.get(int(mid))
        if m is None:
            return self._page("Not found", error(f"No message {mid}"))
        star = "Unstar" if m.starred else "Star"
        moves = "".join(
            post_button(f"/message/{m.id}/move", f"move-{f}", f, {"folder": f})
            for f in FILE_TO
            if f != m.folder
        )
        body = (
            f"<h2>{escape(m.subject)}</h2><p>From: {escape(m.sender[0])} &lt;{m.sender[1]}&gt;<br>"
            f"To: {escape(m.to)}<br>Folder: {m.folder}</p><pre>{escape(m.body)}</pre>"
            f'<p><a id="reply" class="button" href="/compose?reply={m.id}">Reply</a>'
            f'<a id="forward" class="button" href="/compose?forward={m.id}">Forward</a>'
            f"{post_button(f'/message/{m.id}/star', 'star', star)}"
            f"{post_button(f'/message/{m.id}/delete', 'delete', 'Delete')}</p><p>Move to: {moves}</p>"
        )
        return self._page(m.subject, body)

    def compose(self, form: dict[str, str], problem: str = "") -> Response:
        """A new message; `?reply=ID` / `?forward=ID` fill it from a message; a failed send shows it again."""
        to, subject, text = form.get("to", ""), form.get("subject", ""), form.get("body", "")
        if (m := self.messages.get(int(form.get("reply") or 0))) is not None:
            to, subject = m.sender[1], f"Re: {m.subject}"
        elif (m := self.messages.get(int(form.get("forward") or 0))) is not None:
            subject = f"Fwd: {m.subject}"
            text = (
                f"\n\n---------- Forwarded message ----------\nFrom: {m.sender[0]} <{m.sender[1]}>\n{m.body}"
            )
        body = (
            f'<h2>New message</h2>{error(problem)}<form method="post" action="/send">{text_field("to", "To", to)}'
            f'{text_field("subject", "Subject", subject)}<textarea id="body" name="body">{escape(text)}</textarea>'
            f'<br><button id="send">Send</button></form>'
        )
        return self._page("Compose", body)

    # -- actions ----------------------------------------------------------------------------------------
    def _change(self, mid: str, notice: str, **fields: object) -> Response:
        m = self.messages.get(int(mid))
        if m is None:
            return self._page("Not found", error(f"No message {mid}"))
        self.messages[m.id] = replace(m, **fields)  # type: ignore[arg-type]
        self.flash = notice
        return redirect(f"/folder/{m.folder}")

    def star(self, mid: str, form: dict[str, str]) -> Response:
        m = self.messages.get(int(mid))
        if m is None:
            return self._page("Not found", error(f"No message {mid}"))
        self.messages[m.id] = replace(m, starred=not m.starred)
        self.flash = "Starred." if not m.starred else "Star removed."
        return redirect(f"/message/{mid}")

    def delete(self, mid: str, form: dict[str, str]) -> Response:
        return self._change(mid, "Message moved to Trash.", folder="Trash")

    def move(self, mid: str, form: dict[str, str]) -> Response:
        folder = form.get("folder", "")
        if folder not in FILE_TO:
            return self._page("Error", error(f"Cannot move to {folder}"))
        return self._change(mid, f"Message moved to {folder}.", folder=folder)

    def send(self, form: dict[str, str]) -> Response:
        to, subject, body = (form.get(k, "").replace("\r\n", "\n").strip() for k in ("to", "subject", "body"))
        if not to:
            return self.compose(
                {k: form.get(k, "") for k in ("to", "subject", "body")}, "Please enter a recipient."
            )
        m = Message(100 + len(self.sent), "Sent", ME, to, subject, body)
        self.sent.append(m)
        self.messages[m.id] = m
        self.events.append("sent")
        self.flash = f"Message sent to {to}."
        return redirect("/folder/Inbox")


# -- task templates ---------------------------------------------------------------------------------------
def send_task(
    app: Mail, instruction: str, to: str, subject: str, body_ok: Callable[[str], bool], params: dict[str, Any]
) -> Task:
    """Goal: exactly one message sent, to `to` with `subject`, with a body that `body_ok` accepts."""

    def check() -> bool:
        return (
            len(app.sent) == 1
            and (app.sent[0].to, app.sent[0].subject) == (to, subject)
            and (body_ok(app.sent[0].body))
        )

    params = {**params, "to": to, "subject": subject}
    return Task(instruction, check, lambda: bool(app.sent) and not check(), params)


def filing_task(
    app: Mail, instruction: str, goal: dict[int, tuple[str, bool]], params: dict[str, Any]
) -> Task:
    """Goal: every message's (folder, starred) as in `goal` (others unchanged); a change that is neither
    the start nor the goal, or any mail sent, is a failure."""
    start = {i: (m.folder, m.starred) for i, m in app.messages.items()}
    want = {**start, **goal}

    def now() -> dict[int, tuple[str, bool]]:
        return {i: (m.folder, m.starred) for i, m in app.messages.items() if m.folder != "Sent"}

    def failed() -> bool:
        return bool(app.sent) or any(s not in (start[i], want[i]) for i, s in now().items())

    return Task(instruction, lambda: now() == want, failed, {**params, "goal": goal})


def _single(app: Mail) -> list[Message]:
    """Inbox messages whose sender wrote only that one, in id order."""
    inbox = app.in_folder("Inbox")
    return sorted((m for m in inbox if sum(x.sender == m.sender for x in inbox) == 1), key=lambda m: m.id)


@template(Mail, "reply", max_steps=12)
def reply(app: Mail, rng: random.Random) -> Task:
    m, text = rng.choice(_single(app)), rng.choice(REPLIES)
    instruction = f'Reply to the message from {m.sender[0]} with the text "{text}".'
    params = {"open": m.id, "via": "reply", "text": text}
    return send_task(app, instruction, m.sender[1], f"Re: {m.subject}", lambda b: b == text, params)


@template(Mail, "forward", max_steps=12)
def forward(app: Mail, rng: random.Random) -> Task:
    m = rng.choice(app.in_folder("Inbox"))
    to = rng.choice([p for p in PEOPLE if p != m.sender])[1]
    instruction = f'Forward the message with the subject "{m.subject}" to {to}.'
    params = {"open": m.id, "via": "forward", "text": None}
    return send_task(app, instruction, to, f"Fwd: {m.subject}", lambda b: m.body in b, params)


@template(Mail, "compose", max_steps=15)
def compose(app: Mail, rng: random.Random) -> Task:
    to, subject, text = rng.choice(PEOPLE)[1], rng.choice(NEW_SUBJECTS), rng.choice(REPLIES)
    instruction = f'Send a new email to {to} with the subject "{subject}" and the text "{text}".'
    params = {"open": None, "via": "compose", "text": text}
    return send_task(app, instruction, to, subject, lambda b: b == text, params)


@template(Mail, "move-from-sender", max_steps=15)
def move_from_sender(app: Mail, rng: random.Random) -> Task:
    inbox = app.in_folder("Inbox")
    sender = next(m.sender for m in inbox if sum(x.sender == m.sender for x in inbox) > 1)
    folder = rng.choice(FILE_TO)
    goal = {m.id: (folder, m.starred) for m in inbox if m.sender == sender}
    return filing_task(app, f"Move every message from {sender[0]} to the {folder} folder.", goal, {})


@template(Mail, "delete-and-star", max_steps=12)
def delete_and_star(app: Mail, rng: random.Random) -> Task:
    gone, star = rng.sample(_single(app), 2)
    goal = {gone.id: ("Trash", gone.starred), star.id: ("Inbox", True)}
    instruction = f'Delete the message "{gone.subject}" and star the message from {star.sender[0]}.'
    return filing_task(app, instruction, goal, {})
