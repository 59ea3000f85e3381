"""Desktop environments: a private Xvfb display, real X11 input, bundled Tk apps and seeded task templates.

env.py      DesktopEnv, the gymnasium env (one task template per id `agentrl/desktop.<task>-v0`)
desktop.py  the pieces composed: start an episode, act, settle (no sleeps), build the view
xserver.py  Xvfb on a free display (-displayfd), reused across episodes, never leaked
xconn.py    screenshots and the window stack over the X protocol;  xinput.py  XTEST mouse and keyboard
wm.py       the one window-manager duty the env does itself: the top window gets the keyboard
hosts.py    app processes (spares kept warm, one Tk app each);  link.py  the side channel's client
sandbox.py  temp dirs: the episode HOME and, beside it, the side channel;  procs.py  child processes
shell.py    the GUI+SDK hybrid `shell(command=...)` action, run in the episode sandbox
view.py     what checkers and experts read;  launch.py  which apps an episode opens
tasks/      templates: seeded setup, checker, scripted expert
tkapps/     the bundled apps (editor, calculator, files, to-do, task bar); they never import `envs`
real/       the same env contract on Debian's own apps (mousepad, gnumeric, ...), read through AT-SPI
"""
