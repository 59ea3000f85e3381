"""Plain server-rendered HTML for the local web apps: one layout, a few form helpers, no external assets.

Pages are sized for an 800x600 viewport: compact type, no images, lists short enough to need no scrolling.
"""

from __future__ import annotations

from html import escape

CSS = """
body { margin: 0; font: 14px/1.35 sans-serif; color: #222; }
header { background: #24344d; color: #fff; padding: 7px 12px; }
header b { margin-right: 18px; }
header a { color: #fff; margin-right: 14px; text-decoration: none; }
main { padding: 8px 14px; }
h2 { font-size: 17px; margin: 6px 0 8px; }
table { border-collapse: collapse; }
th, td { text-align: left; padding: 3px 10px 3px 0; }
th { border-bottom: 1px solid #999; }
label.field { display: block; margin: 5px 0; }
label.field span { display: inline-block; width: 90px; }
input[type=text] { width: 260px; padding: 2px 4px; }
textarea { width: 520px; height: 110px; }
button, a.button { padding: 3px 10px; margin: 2px 4px 2px 0; }
a.button { display: inline-block; border: 1px solid #777; background: #eee; color: #222; text-decoration: none; }
.notice { background: #e6f2e6; padding: 4px 8px; margin-bottom: 6px; }
.error { background: #f6dddd; padding: 4px 8px; margin-bottom: 6px; }
.muted { color: #666; }
pre { font: inherit; white-space: pre-wrap; background: #f4f4f4; padding: 6px; margin: 6px 0; }
"""


def page(app_title: str, title: str, nav: list[tuple[str, str, str]], body: str, notice: str = "") -> str:
    """A whole page: header with the app's name and nav links (id, href, text), then the body."""
    links = "".join(f'<a id="{i}" href="{h}">{escape(t)}</a>' for i, h, t in nav)
    note = f'<div class="notice">{escape(notice)}</div>' if notice else ""
    return (
        f"<!doctype html><html><head><meta charset='utf-8'><title>{escape(title)}</title>"
        f"<style>{CSS}</style></head><body><header><b>{escape(app_title)}</b>{links}</header>"
        f"<main>{note}{body}</main></body></html>"
    )


def error_page(message: str) -> str:
    return page("Error", "Error", [("home", "/", "Home")], f'<div class="error">{escape(message)}</div>')


def text_field(field_id: str, label: str, value: str = "") -> str:
    return (
        f'<label class="field"><span>{escape(label)}</span>'
        f'<input type="text" id="{field_id}" name="{field_id}" value="{escape(value)}"></label>'
    )


def checkbox(field_id: str, label: str, checked: bool) -> str:
    return (
        f'<label class="field"><input type="checkbox" id="{field_id}" name="{field_id}"'
        f"{' checked' if checked else ''}> {escape(label)}</label>"
    )


def radio(name: str, field_id: str, value: str, label: str, checked: bool) -> str:
    return (
        f'<label><input type="radio" name="{name}" id="{field_id}" value="{escape(value)}"'
        f"{' checked' if checked else ''}> {escape(label)}</label> "
    )


def post_button(action: str, button_id: str, text: str, hidden: dict[str, str] | None = None) -> str:
    """A one-button form posting to `action` (inline, so a row can hold several)."""
    fields = "".join(
        f'<input type="hidden" name="{k}" value="{escape(v)}">' for k, v in (hidden or {}).items()
    )
    return (
        f'<form method="post" action="{action}" style="display:inline">{fields}'
        f'<button id="{button_id}">{escape(text)}</button></form>'
    )


def error(message: str) -> str:
    return f'<div class="error">{escape(message)}</div>' if message else ""
