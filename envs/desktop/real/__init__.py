"""Desktop tasks on Debian's own apps (mousepad, gnumeric, galculator, pcmanfm, xterm) under Xvfb.

env.py          RealDesktopEnv, ids `agentrl/desktop-real.<app>.<task>-v0`
desktop.py      X server and openbox kept per env; per episode a D-Bus session, AT-SPI reader and the apps
atspi.py        the reader's client; atspi_helper.py  the reader, run under the system Python (python3-gi)
view.py         the tree read into elements (role, name, centre), windows and the active app
apps.py         how each app starts, its settings in HOME, the window manager's rules
confine.py      the shell action and the terminal's shell, confined to the episode HOME
tasks/          templates: seeded start files, checkers on the saved files, scripted experts
"""
