"""The bundled desktop apps: small Tk programs that behave like their everyday counterparts.

Each app runs in its own process (a "host", see host.py), draws real X11 windows on the env's display and
answers requests on a Unix socket outside the episode HOME: `snapshot` returns its visible interactive
widgets (role, text, screen box) and its state, which the env uses for the element list and the checkers.
The agent sees only pixels (and the element list, when the env's text mode asks for it).

This package imports nothing from `envs` (app processes start in ~70 ms instead of ~300 ms); run it as
`python -P -m tkapps --socket PATH` with `envs/desktop` on PYTHONPATH.
"""
