"""Entry point of an app process: `python -P -m tkapps --socket PATH --screen WxH`."""

from __future__ import annotations

import argparse

from .host import run


def main() -> None:
    p = argparse.ArgumentParser(prog="tkapps", description=__doc__)
    p.add_argument("--socket", required=True, help="Unix socket path to serve the side channel on")
    p.add_argument("--screen", required=True, help="screen size WxH (apps lay themselves out to it)")
    args = p.parse_args()
    width, height = (int(v) for v in args.screen.split("x"))
    run(args.socket, width, height)


if __name__ == "__main__":
    main()
