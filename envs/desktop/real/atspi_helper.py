"""AT-SPI reader, run under Debian's system Python (python3-gi + gir1.2-atspi-2.0), never imported by agentrl.

One process per episode, bound to that episode's D-Bus session (DBUS_SESSION_BUS_ADDRESS in its environment).
JSON lines on stdin, one answer line each on stdout:

    {"op": "tree", "max_text": 2000}  -> {"ok": true, "apps": [{"name", "pid", "nodes": [...]}], "hung": [...]}
    {"op": "ping"}                    -> {"ok": true}

A node is [depth, role, name, x, y, w, h, flags, text]: screen pixels, `flags` a string of letters
(s showing, v visible, f focused, e enabled, a actionable, t editable text, A active window, c checked, x selected,
d selectable); `text` the node's text (entries, documents, labels), cut at `max_text` characters.
Subtrees that are not showing (closed menus, hidden tabs) are skipped. An app that does not answer within
the call timeout is listed in `hung` (by name, or as 'pid N') instead of `apps`.
"""

import json
import sys

import gi

gi.require_version("Atspi", "2.0")
from gi.repository import Atspi, GLib  # noqa: E402

S = Atspi.StateType
FLAGS = (
    ("s", S.SHOWING),
    ("v", S.VISIBLE),
    ("f", S.FOCUSED),
    ("e", S.ENABLED),
    ("t", S.EDITABLE),
    ("A", S.ACTIVE),
    ("c", S.CHECKED),
    ("x", S.SELECTED),
    ("d", S.SELECTABLE),
)
MAX_NODES = 5000


class Hung(Exception):
    pass


def node(o, depth, max_text):
    role = o.get_role_name()
    name = o.get_name() or ""
    states = o.get_state_set()
    flags = "".join(c for c, s in FLAGS if states.contains(s))
    ifaces = o.get_interfaces()
    if "Action" in ifaces and o.get_n_actions() > 0:
        flags += "a"
    ext = o.get_extents(Atspi.CoordType.SCREEN) if "Component" in ifaces else None
    box = [ext.x, ext.y, ext.width, ext.height] if ext else [-1, -1, -1, -1]
    text = ""
    if "Text" in ifaces:
        n = Atspi.Text.get_character_count(o)
        text = Atspi.Text.get_text(o, 0, min(n, max_text)) if n else ""
    return [depth, role, name, *box, flags, text]


def walk(o, depth, max_text, out):
    n = node(o, depth, max_text)
    if depth >= 2 and "s" not in n[7]:
        return  # not showing (closed menus, hidden tabs): left out with its subtree
    out.append(n)
    for i in range(o.get_child_count()):
        if len(out) >= MAX_NODES:
            return
        child = o.get_child_at_index(i)
        if child is not None:
            walk(child, depth + 1, max_text, out)


def pid_of(app):
    """The app's pid, from the bus daemon (answers when the app itself does not)."""
    try:
        return app.get_process_id()
    except GLib.Error:
        return "?"


def tree(max_text):
    desktop = Atspi.get_desktop(0)
    apps, hung = [], []
    for i in range(desktop.get_child_count()):
        app = desktop.get_child_at_index(i)
        if app is None:
            continue
        name = "?"
        try:
            name = app.get_name() or "?"
            nodes = []
            walk(app, 0, max_text, nodes)
            apps.append({"name": name, "pid": app.get_process_id(), "nodes": nodes})
        except GLib.Error as e:
            if "imeout" in str(e) or "NoReply" in str(e):
                hung.append(name if name != "?" else f"pid {pid_of(app)}")
            # an app that went away mid-walk: left out
    return {"ok": True, "apps": apps, "hung": hung}


def main():
    timeout_ms = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    Atspi.set_timeout(timeout_ms, timeout_ms)
    for line in sys.stdin:
        req = json.loads(line)
        try:
            reply = tree(int(req.get("max_text", 2000))) if req["op"] == "tree" else {"ok": True}
        except Exception as e:  # reported, not fatal: the next request may succeed
            reply = {"ok": False, "error": f"{type(e).__name__}: {e}"}
        sys.stdout.write(json.dumps(reply) + "\n")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
