"""Desktop environments: a private Xvfb display, real X11 input, bundled Tk apps and seeded task templates.

xserver.py  Xvfb on a free display, reused across episodes, never leaked
xconn.py    screenshots and the window stack over the X protocol;  xinput.py  XTEST mouse and keyboard
wm.py       the few window-manager duties the env does itself (focus follows the top window)
hosts.py    app processes (pre-started, one Tk app each) and their side channel;  link.py  its client
sandbox.py  per-env temp dirs (episode HOME, side channel) and the sweep of dirs left by dead envs
shell.py    the GUI+SDK hybrid `shell(command=...)` action, run in the episode sandbox
desktop.py  the pieces composed: start an episode, act, settle, look;  view.py  what checkers see
env.py      DesktopEnv, the gymnasium env;  tasks/  templates with checkers and scripted experts
tkapps/     the bundled apps (editor, calculator, files, to-do, panel); they never import `envs`
"""
